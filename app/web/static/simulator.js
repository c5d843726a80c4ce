// The phone simulator: speak what the caller hears in the newest step (browser speech synthesis).
(function () {
  "use strict";
  var synth = window.speechSynthesis;
  var muted = false;
  try { muted = window.localStorage.getItem("simMuted") === "1"; } catch (e) { muted = false; }

  function speakLast() {
    if (!synth || muted) { return; }
    var last = document.getElementById("sim-last");
    if (!last) { return; }
    synth.cancel();
    last.querySelectorAll("[data-speak]").forEach(function (el) {
      synth.speak(new SpeechSynthesisUtterance(el.textContent));
    });
  }

  function showMute(button) {
    button.setAttribute("aria-pressed", muted ? "true" : "false");
    button.textContent = muted ? "Unmute" : "Mute";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var again = document.getElementById("sim-speak");
    var mute = document.getElementById("sim-mute");
    if (again) {
      again.addEventListener("click", function () { var was = muted; muted = false; speakLast(); muted = was; });
    }
    if (mute) {
      showMute(mute);
      mute.addEventListener("click", function () {
        muted = !muted;
        try { window.localStorage.setItem("simMuted", muted ? "1" : "0"); } catch (e) { /* private mode */ }
        if (muted && synth) { synth.cancel(); }
        showMute(mute);
      });
    }
    speakLast();
  });
})();
