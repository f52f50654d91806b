// The bearer-token form: a modal <dialog>, never window.prompt.

export function askTokenWith(dialog) {
  return (note) => new Promise((resolve) => {
    const form = dialog.querySelector("form");
    const input = dialog.querySelector("input");
    dialog.querySelector(".token-note").textContent = note;
    input.value = "";
    const finish = () => {
      const token = dialog.returnValue === "use" ? input.value.trim() : "";
      resolve(token || null);
    };
    dialog.addEventListener("close", finish, { once: true });
    form.onsubmit = (event) => {
      event.preventDefault();
      dialog.close(event.submitter && event.submitter.value === "cancel" ? "cancel" : "use");
    };
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}
