# English: the reference catalogue. Every other catalogue has exactly these messages
# (a unit test compares them). `$org` is BRAND_NAME, or `org-default` when it is not set.

org-default = the association
language-name = English

# Around every page
help-link = Help and contact
logo-alt = { $org }

# The start page
landing-title = Help centre sign-in
landing-intro = Sign in with your member account to read and open help-desk tickets.
landing-button = Sign in to the help centre

# The sign-in form
login-title = Sign in
login-intro = Use your member account to continue to the help centre.
login-username = User name
login-password = Password
login-submit = Sign in
login-forgot = Forgot your password?
login-wrong-credentials = That user name and password did not match our records. Check them and try again.
login-missing-credentials = Enter your user name and your password.

# The page that takes the member on to Zendesk
deliver-title = Signing you in…
deliver-text = You are being taken to the help centre. If nothing happens, press the button.
deliver-button = Continue to the help centre

# Links and notes on message pages
link-sign-in-again = Start signing in again
link-start-page = Go to the start page
link-help-centre = Back to the help centre
error-reference = If you contact us, quote this reference:

unavailable-title = We can't check your membership right now
unavailable-text = The member system did not answer. Your password was not rejected: please try again in a few minutes.

unexpected-title = Something went wrong
unexpected-text = We could not sign you in because of an error on our side. Please try again in a few minutes.

refused-title = We can't sign you in to the help centre
refused-inactive = Your membership is not active, so you can't use the help centre with it.
refused-inactive-next = If you think this is a mistake, or to renew, please contact { $org }.
refused-no-email = Your member record has no primary e-mail address, which the help centre needs to reach you.
refused-no-email-next = Please add one to your member profile, or contact { $org }.
refused-shared-email = Your e-mail address is shared by more than one member record, so we can't tell which help-centre account is yours.
refused-shared-email-next = Please contact { $org } so they can correct your member record.
refused-no-record = Your password was accepted, but we could not find a member record for your account.
refused-no-record-next = Please contact { $org } so they can check your account.

denied-email-taken = Your e-mail address is already used by another help-centre account, so we can't sign you in with it.
denied-email-taken-next = Please contact { $org } and quote the reference below; they can link your account safely.
denied-suspended = Your help-centre account is suspended.
denied-suspended-next = Please contact { $org } and quote the reference below.
denied-zendesk-title = The help centre can't be reached right now
denied-zendesk-text = We could not complete the checks that keep help-centre accounts safe. Your password was not rejected: please try again shortly.

policy-denied-text = Your membership does not include access to the help centre.
policy-denied-contact = If you think this is a mistake, please contact { $org }.

throttled-title = Too many sign-in attempts
throttled-text = There have been too many unsuccessful sign-in attempts, so sign-in is paused for a while to protect your account.
throttled-reset = If you have forgotten your password, reset it in the member system first.
throttled-wait = { $minutes ->
    [one] You can try again in 1 minute.
   *[other] You can try again in { $minutes } minutes.
}

expired-title = This sign-in page has expired
expired-text = For your security, sign-in forms only work for a short time and only from this site. Nothing was sent.

bad-request-title = We couldn't read that request
bad-request-text = The link or form you used was not complete or not valid. Please start again from the help centre.

not-found-title = Page not found
not-found-text = There is nothing at this address.

signed-out-title = You are signed out
signed-out-text = You have been signed out of the help centre. To sign in again, visit the help centre.

zendesk-error-title = The help centre could not sign you in
zendesk-error-said = Zendesk, which runs our help centre, refused the sign-in and said:
zendesk-error-next = You have not been signed in. Please try again in a few minutes; if this keeps happening, contact { $org } and quote the message above.
zendesk-error-no-reason = (Zendesk gave no reason)
admin-summary = For help-desk administrators
admin-text = If single sign-on itself is failing, you can still reach Zendesk:
admin-normal = Sign in with a Zendesk password (/access/normal)
admin-bypass = Request a one-time sign-in link for the account owner (/access/sso_bypass)

denied-unlinked = Your e-mail address already has a help-centre account that is not joined to your membership yet.
denied-unlinked-next = Please contact { $org } and quote the reference below; they can join the two accounts for you.
verify-title = Confirm your e-mail address
verify-why = Your e-mail address already has a help-centre account. Before we join it to your membership, we check that the address is yours.
verify-sent = We have sent a 6-digit code to { $address }. It works for 10 minutes.
verify-code = Code from the e-mail
verify-submit = Confirm
verify-wrong = That code is not right. Check the e-mail and try again.
verify-expired-title = This code no longer works
verify-expired-text = Codes work for 10 minutes and for a few tries only. Start signing in again to get a new one.
verify-send-failed-title = We couldn't send the code
verify-send-failed-text = Something went wrong while sending the e-mail. Please try again in a few minutes.
verify-mail-subject = Your help-centre sign-in code
verify-mail-body = Your code is { $code }. Enter it on the sign-in page within 10 minutes. If you did not try to sign in to the { $org } help centre, you can ignore this e-mail: nothing happens without the code.

login-member-site = Sign in with your member account
login-or-password = Or sign in with your member-system user name and password:
sso-expired-title = Your member-site sign-in expired
sso-expired-text = Signing in through the member site takes only a few minutes and each sign-in works once. Start again: you may not need to type anything.
sso-unsolicited-title = This sign-in was not started here
sso-unsolicited-text = To sign in to the help centre, start from the help centre or from this page.

busy-title = The sign-in service is busy
busy-text = Too many sign-ins are under way at this moment. Nothing was sent; please try again in a few seconds.

loop-title = Signing in keeps coming back here
loop-text = The help centre sent you back to sign in several times in a row, so we stopped here rather than go round in circles. Your account is fine.
loop-admin = For the administrator: check that Zendesk's shared secret is the bridge's ZENDESK_JWT_SECRET, that Zendesk's remote logout URL is this service's /logout, and that no help-centre theme sends signed-in members back to sign in.

zendesk-error-neutral = You have not been signed in. Please try again; if this keeps happening, contact { $org }.
