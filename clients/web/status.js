// The page's one place for words about what is happening: a polite status line and an
// alert region for errors, both live regions so screen readers announce them.

const statusLine = () => document.getElementById("status");
const alertBox = () => document.getElementById("alert");

export function say(text) {
  statusLine().textContent = text;
}

/** Show an error in words: the server's own message when it sent one. */
export function showError(what, error) {
  const box = alertBox();
  const message = error && error.message ? error.message : String(error);
  box.querySelector(".alert-text").textContent = `${what}: ${message}`;
  box.hidden = false;
}

export function clearError() {
  alertBox().hidden = true;
}

/** Run an async action, reporting its failure in the alert region; returns its result. */
export async function attempt(what, action) {
  try {
    const result = await action();
    clearError();
    return result;
  } catch (error) {
    showError(what, error);
    return undefined;
  }
}
