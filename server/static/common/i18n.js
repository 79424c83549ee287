// Text catalogue in the browser. The page renders every language's
// catalogue into <script type="application/json" id="lapak-i18n">, so the
// language toggle works without a reload.
//
// Markup: data-i18n="key" sets textContent; data-i18n-attr="attr:key,attr:key"
// sets attributes; data-i18n-params='{"booth": 3}' fills {placeholders}.

export function format(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m);
}

export class I18n {
  constructor(catalogues, lang, fallback = "id") {
    this.catalogues = catalogues;
    this.fallback = fallback;
    this.lang = catalogues[lang] ? lang : fallback;
    this.listeners = [];
  }

  static fromPage(lang) {
    const el = document.getElementById("lapak-i18n");
    const data = el ? JSON.parse(el.textContent) : {};
    return new I18n(data.catalogues || {}, lang || data.lang || "id", data.default || "id");
  }

  t(key, params) {
    const cat = this.catalogues[this.lang] || {};
    const base = this.catalogues[this.fallback] || {};
    const text = cat[key] ?? base[key] ?? key;
    return format(text, params);
  }

  setLang(lang) {
    if (!this.catalogues[lang] || lang === this.lang) return;
    this.lang = lang;
    document.documentElement.lang = lang;
    this.apply(document);
    for (const fn of this.listeners) fn(lang);
  }

  onChange(fn) { this.listeners.push(fn); }

  apply(root) {
    for (const el of root.querySelectorAll("[data-i18n]")) {
      const params = el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : undefined;
      el.textContent = this.t(el.dataset.i18n, params);
    }
    for (const el of root.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of el.dataset.i18nAttr.split(",")) {
        const [attr, key] = pair.split(":").map((s) => s.trim());
        el.setAttribute(attr, this.t(key));
      }
    }
  }

  // Set a translated text on an element and remember it for later toggles.
  bind(el, key, params) {
    el.dataset.i18n = key;
    if (params) el.dataset.i18nParams = JSON.stringify(params);
    else delete el.dataset.i18nParams;
    el.textContent = this.t(key, params);
  }
}
