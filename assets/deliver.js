// Posts the sign-in token to Zendesk as soon as the page loads; the button stays as a fallback.
document.getElementById("deliver").submit();
