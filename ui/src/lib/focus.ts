// Where the keyboard's focus goes around a modal dialog: into it when it
// opens, round inside it while it is open, and back to what opened it when it
// closes, so a keyboard user is never left on the bare page.

const FOCUSABLE =
  "a[href], button:not(:disabled), input:not(:disabled):not([type=hidden]), select:not(:disabled), textarea:not(:disabled), summary, [tabindex]:not([tabindex='-1'])";

/** The elements Tab reaches inside `root`, in order. */
export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) => !el.closest("[inert]") && el.getClientRects().length > 0,
  );
}

export type ModalOptions = {
  /** What takes the focus when the dialog opens (default: the first thing
   * Tab reaches in it, else the dialog itself). */
  initial?: () => HTMLElement | null | undefined;
  /** Where the focus goes on close when what opened the dialog is gone. */
  fallback?: () => HTMLElement | null | undefined;
};

function focused(el: HTMLElement | null | undefined): boolean {
  if (!el || !el.isConnected) return false;
  el.focus();
  return document.activeElement === el;
}

/** A Svelte action for a modal dialog's element (`use:modal`). */
export function modal(node: HTMLElement, options: ModalOptions = {}) {
  const active = document.activeElement;
  const opener = active instanceof HTMLElement && active !== document.body ? active : null;
  let current = options;

  // After the dialog's content is in place (an effect may still fill it).
  queueMicrotask(() => {
    if (node.contains(document.activeElement)) return;
    if (!focused(current.initial?.()) && !focused(focusables(node)[0])) node.focus();
  });

  function onkeydown(e: KeyboardEvent) {
    if (e.key !== "Tab") return;
    const items = focusables(node);
    if (items.length === 0) {
      e.preventDefault();
      node.focus();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const at = document.activeElement;
    if (e.shiftKey && (at === first || at === node || !node.contains(at))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (at === last || !node.contains(at))) {
      e.preventDefault();
      first.focus();
    }
  }
  node.addEventListener("keydown", onkeydown);

  return {
    update(next: ModalOptions = {}) {
      current = next;
    },
    destroy() {
      node.removeEventListener("keydown", onkeydown);
      // Something else took the focus meanwhile (the inbox, after a
      // decision): leave it there.
      const now = document.activeElement;
      if (now && now !== document.body && !node.contains(now)) return;
      if (!focused(opener)) focused(current.fallback?.());
    },
  };
}
