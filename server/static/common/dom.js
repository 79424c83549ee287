// Building page elements without markup strings: text always goes in as text
// (never parsed as HTML), so nothing a person typed can become markup.

/**
 * A new element: `attrs` sets `class`, `text` (as text) and any attribute
 * (`true` gives an empty boolean attribute; null, undefined and false leave it
 * out); `children` are appended (null, undefined and false are skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}
