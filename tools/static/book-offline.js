/* Loaded on the book's pages between require.js and the ipywidgets manager (embed-amd.js).
 * 1. The widget manager's webpack bundle finds its icon fonts relative to RequireJS's baseUrl
 *    (by default the page's folder); point baseUrl at _static/html-manager/, where
 *    tools/fetch_static_assets.py puts them, so the fonts load from the book, not a 404 or a CDN.
 * 2. ipywidgets typesets labels with MathJax 2's MathJax.Hub.Queue; the book runs MathJax 3,
 *    so give MathJax 3 a Hub.Queue that calls typesetPromise.
 */
(function () {
  var src = document.currentScript && document.currentScript.src;
  if (src && window.require && window.require.config) {
    window.require.config({ baseUrl: src.replace(/[^/]*$/, "") + "html-manager/" });
  }
  function shim() {
    var MJ = window.MathJax;
    if (MJ && MJ.version && !MJ.Hub) {
      MJ.Hub = {
        Queue: function (cmd) {
          var el = cmd && cmd[2];
          var ready = (MJ.startup && MJ.startup.promise) || Promise.resolve();
          ready.then(function () {
            return MJ.typesetPromise ? MJ.typesetPromise(el ? [el] : undefined) : null;
          });
        },
      };
    }
  }
  document.addEventListener("DOMContentLoaded", shim);
})();
