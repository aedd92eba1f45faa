/* Starts Swagger UI on /schema/swagger (a file, not inline code, so the page's Content-Security-Policy holds). */
(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({ url: root.dataset.spec, dom_id: "#swagger-ui", deepLinking: true });
})();
