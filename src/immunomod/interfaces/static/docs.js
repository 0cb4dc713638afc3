// Swagger UI start-up for /docs. It lives in this file rather than inline so that /docs, like
// every page, runs without 'unsafe-inline'; the Swagger UI bundle itself comes from the CDN
// allowed by /docs' Content-Security-Policy (see immunomod/interfaces/security.py).
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null  // no badge image fetched from validator.swagger.io
  });
})();
