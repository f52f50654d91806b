// At most one call in flight, and the latest value always served: while a call runs, new
// values replace one another, and the last one goes out as soon as the call ends.

export function latestOnly(task, onError) {
  let running = false;
  let waiting = false;
  let next;

  async function pump() {
    running = true;
    while (waiting) {
      const value = next;
      waiting = false;
      try {
        await task(value);
      } catch (error) {
        onError(error);
      }
    }
    running = false;
  }

  return function submit(value) {
    next = value;
    waiting = true;
    if (!running) pump();
  };
}
