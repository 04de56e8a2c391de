// DOM helpers. Text goes in with textContent only: customer content is never parsed as
// HTML (DESIGN.md §7), and the CSP would refuse inline script if it ever were.

export const $ = (id) => document.getElementById(id);

/** An element with a class and text; `attrs` become attributes. */
export function el(tag, { className, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * Bring `container`'s children in line with `items`, reusing the node whose
 * data-key matches so that focus, an open <select> and a half-chosen option survive a
 * refresh. create(item) makes a node, update(node, item) fills it in.
 */
export function reconcile(container, items, key, create, update) {
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  const existing = new Map();
  for (const child of container.children) {
    if (child.dataset.key !== undefined) existing.set(child.dataset.key, child);
  }
  const wanted = items.map((item) => {
    const k = String(key(item));
    let node = existing.get(k);
    existing.delete(k);
    if (!node) {
      node = create(item);
      node.dataset.key = k;
    }
    update(node, item);
    return node;
  });
  for (const stale of existing.values()) stale.remove();
  for (const extra of [...container.children].filter((c) => c.dataset.key === undefined)) {
    extra.remove();
  }
  // Only move what is out of place: moving a node takes the focus away from it.
  wanted.forEach((node, index) => {
    const there = container.children[index] ?? null;
    if (there !== node) container.insertBefore(node, there);
  });
  if (focused && focused.isConnected && document.activeElement !== focused) {
    focused.focus({ preventScroll: true });
  }
}

/** Say `text` through the page's live region (emptied first: the same words twice
 * are still said twice). */
export function say(text) {
  const announcer = $("announcer");
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}
