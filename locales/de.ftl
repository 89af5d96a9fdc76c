# Deutsch. Dieselben Meldungen wie en.ftl; `$org` ist BRAND_NAME oder `org-default`.

org-default = Ihren Verband
language-name = Deutsch

help-link = Hilfe und Kontakt
logo-alt = { $org }

landing-title = Anmeldung zum Hilfe-Center
landing-intro = Melden Sie sich mit Ihrem Mitgliedskonto an, um Support-Anfragen zu lesen und zu stellen.
landing-button = Beim Hilfe-Center anmelden

login-title = Anmelden
login-intro = Verwenden Sie Ihr Mitgliedskonto, um zum Hilfe-Center zu gelangen.
login-username = Benutzername
login-password = Passwort
login-submit = Anmelden
login-forgot = Passwort vergessen?
login-wrong-credentials = Benutzername und Passwort stimmen nicht mit unseren Daten überein. Bitte prüfen Sie die Angaben und versuchen Sie es erneut.
login-missing-credentials = Geben Sie Ihren Benutzernamen und Ihr Passwort ein.

deliver-title = Sie werden angemeldet…
deliver-text = Sie werden zum Hilfe-Center weitergeleitet. Falls nichts passiert, klicken Sie auf die Schaltfläche.
deliver-button = Weiter zum Hilfe-Center

link-sign-in-again = Anmeldung neu beginnen
link-start-page = Zur Startseite
link-help-centre = Zurück zum Hilfe-Center
error-reference = Wenn Sie uns kontaktieren, nennen Sie bitte diese Referenz:

unavailable-title = Wir können Ihre Mitgliedschaft gerade nicht prüfen
unavailable-text = Das Mitgliedersystem hat nicht geantwortet. Ihr Passwort wurde nicht abgelehnt: Bitte versuchen Sie es in einigen Minuten erneut.

unexpected-title = Etwas ist schiefgelaufen
unexpected-text = Wegen eines Fehlers auf unserer Seite konnten wir Sie nicht anmelden. Bitte versuchen Sie es in einigen Minuten erneut.

refused-title = Wir können Sie nicht beim Hilfe-Center anmelden
refused-inactive = Ihre Mitgliedschaft ist nicht aktiv, daher können Sie das Hilfe-Center damit nicht nutzen.
refused-inactive-next = Wenn Sie glauben, dass es sich um einen Fehler handelt, oder um zu verlängern, wenden Sie sich bitte an { $org }.
refused-no-email = Ihr Mitgliedsdatensatz enthält keine primäre E-Mail-Adresse, die das Hilfe-Center braucht, um Sie zu erreichen.
refused-no-email-next = Bitte ergänzen Sie eine in Ihrem Mitgliedsprofil oder wenden Sie sich an { $org }.
refused-shared-email = Ihre E-Mail-Adresse gehört zu mehr als einem Mitgliedsdatensatz, daher können wir nicht erkennen, welches Hilfe-Center-Konto Ihres ist.
refused-shared-email-next = Bitte wenden Sie sich an { $org }, damit Ihr Mitgliedsdatensatz korrigiert wird.
refused-no-record = Ihr Passwort wurde akzeptiert, aber wir haben keinen Mitgliedsdatensatz zu Ihrem Konto gefunden.
refused-no-record-next = Bitte wenden Sie sich an { $org }, damit Ihr Konto geprüft wird.

denied-email-taken = Ihre E-Mail-Adresse wird bereits von einem anderen Hilfe-Center-Konto verwendet, daher können wir Sie damit nicht anmelden.
denied-email-taken-next = Bitte wenden Sie sich an { $org } und nennen Sie die Referenz unten; dort kann Ihr Konto sicher verknüpft werden.
denied-suspended = Ihr Hilfe-Center-Konto ist gesperrt.
denied-suspended-next = Bitte wenden Sie sich an { $org } und nennen Sie die Referenz unten.
denied-zendesk-title = Das Hilfe-Center ist gerade nicht erreichbar
denied-zendesk-text = Wir konnten die Prüfungen, die Hilfe-Center-Konten schützen, nicht abschließen. Ihr Passwort wurde nicht abgelehnt: Bitte versuchen Sie es gleich noch einmal.

policy-denied-text = Ihre Mitgliedschaft umfasst keinen Zugang zum Hilfe-Center.
policy-denied-contact = Wenn Sie glauben, dass es sich um einen Fehler handelt, wenden Sie sich bitte an { $org }.

throttled-title = Zu viele Anmeldeversuche
throttled-text = Es gab zu viele erfolglose Anmeldeversuche, daher ist die Anmeldung zum Schutz Ihres Kontos eine Weile pausiert.
throttled-reset = Wenn Sie Ihr Passwort vergessen haben, setzen Sie es zuerst im Mitgliedersystem zurück.
throttled-wait = { $minutes ->
    [one] Sie können es in 1 Minute erneut versuchen.
   *[other] Sie können es in { $minutes } Minuten erneut versuchen.
}

expired-title = Diese Anmeldeseite ist abgelaufen
expired-text = Zu Ihrer Sicherheit funktionieren Anmeldeformulare nur kurze Zeit und nur von dieser Website aus. Es wurde nichts gesendet.

bad-request-title = Wir konnten diese Anfrage nicht lesen
bad-request-text = Der verwendete Link oder das Formular war unvollständig oder ungültig. Bitte beginnen Sie erneut im Hilfe-Center.

not-found-title = Seite nicht gefunden
not-found-text = Unter dieser Adresse gibt es nichts.

signed-out-title = Sie sind abgemeldet
signed-out-text = Sie wurden vom Hilfe-Center abgemeldet. Um sich erneut anzumelden, besuchen Sie das Hilfe-Center.

zendesk-error-title = Das Hilfe-Center konnte Sie nicht anmelden
zendesk-error-said = Zendesk, der Betreiber unseres Hilfe-Centers, hat die Anmeldung abgelehnt und meldet:
zendesk-error-next = Sie wurden nicht angemeldet. Bitte versuchen Sie es in einigen Minuten erneut; wenn das wieder passiert, wenden Sie sich an { $org } und nennen Sie die Meldung oben.
zendesk-error-no-reason = (Zendesk hat keinen Grund genannt)
admin-summary = Für Administratoren des Helpdesks
admin-text = Wenn die Einmalanmeldung selbst nicht funktioniert, erreichen Sie Zendesk trotzdem:
admin-normal = Mit einem Zendesk-Passwort anmelden (/access/normal)
admin-bypass = Einen einmaligen Anmeldelink für den Kontoinhaber anfordern (/access/sso_bypass)

denied-unlinked = Zu Ihrer E-Mail-Adresse gibt es bereits ein Hilfe-Center-Konto, das noch nicht mit Ihrer Mitgliedschaft verbunden ist.
denied-unlinked-next = Bitte wenden Sie sich an { $org } und nennen Sie die Referenz unten; dort können die beiden Konten verbunden werden.
verify-title = Bestätigen Sie Ihre E-Mail-Adresse
verify-why = Zu Ihrer E-Mail-Adresse gibt es bereits ein Hilfe-Center-Konto. Bevor wir es mit Ihrer Mitgliedschaft verbinden, prüfen wir, dass die Adresse Ihnen gehört.
verify-sent = Wir haben einen 6-stelligen Code an { $address } gesendet. Er gilt 10 Minuten.
verify-code = Code aus der E-Mail
verify-submit = Bestätigen
verify-wrong = Dieser Code stimmt nicht. Prüfen Sie die E-Mail und versuchen Sie es erneut.
verify-expired-title = Dieser Code gilt nicht mehr
verify-expired-text = Codes gelten 10 Minuten und nur für wenige Versuche. Beginnen Sie die Anmeldung neu, um einen neuen Code zu erhalten.
verify-send-failed-title = Der Code konnte nicht gesendet werden
verify-send-failed-text = Beim Senden der E-Mail ist ein Fehler aufgetreten. Bitte versuchen Sie es in einigen Minuten erneut.
verify-mail-subject = Ihr Anmeldecode für das Hilfe-Center
verify-mail-body = Ihr Code lautet { $code }. Geben Sie ihn innerhalb von 10 Minuten auf der Anmeldeseite ein. Wenn Sie sich nicht beim Hilfe-Center von { $org } anmelden wollten, ignorieren Sie diese E-Mail: Ohne den Code geschieht nichts.

login-member-site = Mit Ihrem Mitgliedskonto anmelden
login-or-password = Oder melden Sie sich mit Benutzername und Passwort des Mitgliedersystems an:
sso-expired-title = Ihre Anmeldung auf der Mitgliederseite ist abgelaufen
sso-expired-text = Die Anmeldung über die Mitgliederseite gilt nur wenige Minuten und nur einmal. Beginnen Sie erneut: Vielleicht müssen Sie nichts eingeben.
sso-unsolicited-title = Diese Anmeldung wurde nicht hier begonnen
sso-unsolicited-text = Um sich beim Hilfe-Center anzumelden, beginnen Sie im Hilfe-Center oder auf dieser Seite.

busy-title = Der Anmeldedienst ist ausgelastet
busy-text = Gerade laufen zu viele Anmeldungen. Es wurde nichts gesendet; bitte versuchen Sie es in ein paar Sekunden erneut.

loop-title = Die Anmeldung kehrt immer wieder hierher zurück
loop-text = Das Hilfe-Center hat Sie mehrmals hintereinander zur Anmeldung zurückgeschickt, deshalb haben wir hier angehalten, statt im Kreis zu laufen. Mit Ihrem Konto ist alles in Ordnung.
loop-admin = Für die Administration: Prüfen Sie, dass das gemeinsame Geheimnis in Zendesk das ZENDESK_JWT_SECRET der Brücke ist, dass die Remote-Abmelde-URL in Zendesk das /logout dieses Dienstes ist und dass kein Hilfe-Center-Theme angemeldete Mitglieder zur Anmeldung zurückschickt.

zendesk-error-neutral = Sie wurden nicht angemeldet. Bitte versuchen Sie es erneut; wenn das wieder passiert, wenden Sie sich an { $org }.
