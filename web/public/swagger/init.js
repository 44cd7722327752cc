// Swagger UI over the platform's merged OpenAPI document (an external file: the CSP allows
// no inline script).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
