// The phone simulator: speak what the caller hears in the newest step (browser speech synthesis),
// and hang up a waiting call when its page is closed or left (a beacon to /simulator/leave), so
// that it ends in Logs as a real call would rather than ringing forever.
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

  // A step of this call (its forms post to /simulator/step) keeps the call; anything else that
  // leaves the page (closing it, another link, a new call or text) hangs it up.
  var steppingOn = false;
  document.addEventListener("submit", function (event) {
    steppingOn = event.target.getAttribute("action") === "/simulator/step";
  });

  window.addEventListener("pagehide", function () {
    var call = document.querySelector("[data-waiting-call]");
    var csrf = document.querySelector("input[name=csrf_token]");
    if (!call || !csrf || steppingOn || !navigator.sendBeacon) { return; }
    var form = new FormData();
    form.append("call", call.getAttribute("data-waiting-call"));
    form.append("csrf_token", csrf.value);
    navigator.sendBeacon("/simulator/leave", form);
  });

  // Back from the browser's cache, the call was hung up as the page left: show it so.
  window.addEventListener("pageshow", function (event) {
    var call = document.querySelector("[data-waiting-call]");
    if (event.persisted && call) {
      window.location.assign("/simulator?call=" + encodeURIComponent(call.getAttribute("data-waiting-call")));
    }
  });

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
