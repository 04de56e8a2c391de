// The demo shop embeds the widget exactly as a business would, with the widget key taken
// from this page's own address (demo.html?key=wk_…). A module file, not an inline
// script: the widget's files are served with a CSP that allows no inline scripts.
const key = new URLSearchParams(location.search).get("key");
if (key) {
  const script = document.createElement("script");
  script.src = new URL("loader.js", import.meta.url).href;
  script.async = true;
  script.dataset.key = key;
  document.body.append(script);
} else {
  document.getElementById("no-key").hidden = false;
}
