// Counts Content-Security-Policy violations into the DOM: a test that dumps
// the DOM sees whether the page tried to fetch anything.
(function () {
  var d = document.documentElement;
  d.setAttribute("data-csp-violations", "0");
  document.addEventListener("securitypolicyviolation", function (e) {
    d.setAttribute("data-csp-violations", String(Number(d.getAttribute("data-csp-violations")) + 1));
    d.setAttribute("data-csp-blocked", (d.getAttribute("data-csp-blocked") || "") + " " + e.blockedURI);
  });
})();
