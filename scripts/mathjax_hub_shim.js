/*
 * MathJax 2 "Hub" shim for the Jupyter widgets embed bundle.
 *
 * @jupyter-widgets/html-manager 1.x typesets widget labels with the MathJax 2
 * API, MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads
 * MathJax 3, which has no Hub, so every widget page threw "Cannot read
 * properties of undefined (reading 'Queue')".  This maps the call onto
 * MathJax 3's typesetPromise.
 *
 * scripts/vendor_assets.py copies this file to book/_vendor/widgets-embed/;
 * _config.yml (nb_ipywidgets_js) loads it with `defer` on widget pages only,
 * after the (deferred) MathJax script and before the widgets render.
 */
(function () {
  "use strict";
  var MJ = window.MathJax;
  if (!MJ || MJ.Hub) {
    return; // no MathJax on this page (widgets then skip typesetting), or MathJax 2
  }
  function typeset(element) {
    var ready = (MJ.startup && MJ.startup.promise) || Promise.resolve();
    ready
      .then(function () {
        if (MJ.typesetPromise) {
          return MJ.typesetPromise(element ? [element] : undefined);
        }
      })
      .catch(function (err) {
        console.warn("MathJax could not typeset a widget:", err);
      });
  }
  MJ.Hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") {
          typeset(job[2]);
        } else if (typeof job === "function") {
          job();
        }
      }
    },
  };
})();
