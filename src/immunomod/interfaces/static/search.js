// Progressive enhancement: suggestions while typing, from the same search the form uses.
// Without JavaScript the form still submits and the results page lists the same matches.
(function () {
  var box = document.getElementById("q"), list = document.getElementById("suggestions"), timer;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    var text = box.value.trim();
    if (text.length < 3) { list.replaceChildren(); return; }
    timer = setTimeout(function () {
      fetch("/suggest?q=" + encodeURIComponent(text))
        .then(function (r) { return r.ok ? r.json() : { drugs: [] }; })
        .then(function (data) {
          list.replaceChildren.apply(list, data.drugs.slice(0, 8).map(function (d) {
            var o = document.createElement("option");
            o.value = d.inn;
            if (d.matched && d.matched.toLowerCase() !== d.inn.toLowerCase()) o.label = d.matched;
            return o;
          }));
        })
        .catch(function () { list.replaceChildren(); });
    }, 150);
  });
})();
