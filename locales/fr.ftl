# Français. Mêmes messages que en.ftl ; `$org` est BRAND_NAME, ou `org-default`.

org-default = votre association
language-name = Français

help-link = Aide et contact
logo-alt = { $org }

landing-title = Connexion au centre d'aide
landing-intro = Connectez-vous avec votre compte de membre pour consulter et ouvrir des demandes d'assistance.
landing-button = Se connecter au centre d'aide

login-title = Connexion
login-intro = Utilisez votre compte de membre pour accéder au centre d'aide.
login-username = Nom d'utilisateur
login-password = Mot de passe
login-submit = Se connecter
login-forgot = Mot de passe oublié ?
login-wrong-credentials = Ce nom d'utilisateur et ce mot de passe ne correspondent pas à nos informations. Vérifiez-les et réessayez.
login-missing-credentials = Saisissez votre nom d'utilisateur et votre mot de passe.

deliver-title = Connexion en cours…
deliver-text = Vous êtes redirigé vers le centre d'aide. Si rien ne se passe, appuyez sur le bouton.
deliver-button = Continuer vers le centre d'aide

link-sign-in-again = Recommencer la connexion
link-start-page = Aller à la page d'accueil
link-help-centre = Retour au centre d'aide
error-reference = Si vous nous contactez, indiquez cette référence :

unavailable-title = Nous ne pouvons pas vérifier votre adhésion pour le moment
unavailable-text = Le système des membres n'a pas répondu. Votre mot de passe n'a pas été refusé : veuillez réessayer dans quelques minutes.

unexpected-title = Une erreur s'est produite
unexpected-text = Nous n'avons pas pu vous connecter à cause d'une erreur de notre côté. Veuillez réessayer dans quelques minutes.

refused-title = Nous ne pouvons pas vous connecter au centre d'aide
refused-inactive = Votre adhésion n'est pas active : vous ne pouvez donc pas l'utiliser pour accéder au centre d'aide.
refused-inactive-next = Si vous pensez qu'il s'agit d'une erreur, ou pour renouveler votre adhésion, contactez { $org }.
refused-no-email = Votre fiche de membre n'a pas d'adresse e-mail principale, dont le centre d'aide a besoin pour vous répondre.
refused-no-email-next = Ajoutez-en une à votre profil de membre, ou contactez { $org }.
refused-shared-email = Votre adresse e-mail est utilisée par plusieurs fiches de membre : nous ne pouvons pas savoir quel compte du centre d'aide est le vôtre.
refused-shared-email-next = Contactez { $org } pour faire corriger votre fiche de membre.
refused-no-record = Votre mot de passe a été accepté, mais nous n'avons pas trouvé de fiche de membre pour votre compte.
refused-no-record-next = Contactez { $org } pour faire vérifier votre compte.

denied-email-taken = Votre adresse e-mail est déjà utilisée par un autre compte du centre d'aide : nous ne pouvons pas vous connecter avec elle.
denied-email-taken-next = Contactez { $org } en indiquant la référence ci-dessous ; ils pourront relier votre compte en toute sécurité.
denied-suspended = Votre compte du centre d'aide est suspendu.
denied-suspended-next = Contactez { $org } en indiquant la référence ci-dessous.
denied-zendesk-title = Le centre d'aide est injoignable pour le moment
denied-zendesk-text = Nous n'avons pas pu effectuer les vérifications qui protègent les comptes du centre d'aide. Votre mot de passe n'a pas été refusé : veuillez réessayer dans un instant.

policy-denied-text = Votre adhésion ne donne pas accès au centre d'aide.
policy-denied-contact = Si vous pensez qu'il s'agit d'une erreur, contactez { $org }.

throttled-title = Trop de tentatives de connexion
throttled-text = Il y a eu trop de tentatives de connexion infructueuses : la connexion est suspendue un moment pour protéger votre compte.
throttled-reset = Si vous avez oublié votre mot de passe, réinitialisez-le d'abord dans le système des membres.
throttled-wait = { $minutes ->
    [one] Vous pourrez réessayer dans 1 minute.
   *[other] Vous pourrez réessayer dans { $minutes } minutes.
}

expired-title = Cette page de connexion a expiré
expired-text = Pour votre sécurité, les formulaires de connexion ne fonctionnent que peu de temps et uniquement depuis ce site. Rien n'a été envoyé.

bad-request-title = Nous n'avons pas pu lire cette demande
bad-request-text = Le lien ou le formulaire utilisé était incomplet ou invalide. Veuillez recommencer depuis le centre d'aide.

not-found-title = Page introuvable
not-found-text = Il n'y a rien à cette adresse.

signed-out-title = Vous êtes déconnecté
signed-out-text = Vous avez été déconnecté du centre d'aide. Pour vous reconnecter, rendez-vous sur le centre d'aide.

zendesk-error-title = Le centre d'aide n'a pas pu vous connecter
zendesk-error-said = Zendesk, qui héberge notre centre d'aide, a refusé la connexion et a répondu :
zendesk-error-next = Vous n'êtes pas connecté. Veuillez réessayer dans quelques minutes ; si le problème persiste, contactez { $org } en citant le message ci-dessus.
zendesk-error-no-reason = (Zendesk n'a donné aucune raison)
admin-summary = Pour les administrateurs du centre d'assistance
admin-text = Si l'authentification unique elle-même ne fonctionne pas, vous pouvez quand même accéder à Zendesk :
admin-normal = Se connecter avec un mot de passe Zendesk (/access/normal)
admin-bypass = Demander un lien de connexion à usage unique pour le propriétaire du compte (/access/sso_bypass)

denied-unlinked = Votre adresse e-mail a déjà un compte du centre d'aide, qui n'est pas encore relié à votre adhésion.
denied-unlinked-next = Contactez { $org } en indiquant la référence ci-dessous ; ils pourront relier les deux comptes.
verify-title = Confirmez votre adresse e-mail
verify-why = Votre adresse e-mail a déjà un compte du centre d'aide. Avant de le relier à votre adhésion, nous vérifions que l'adresse est bien la vôtre.
verify-sent = Nous avons envoyé un code à 6 chiffres à { $address }. Il est valable 10 minutes.
verify-code = Code reçu par e-mail
verify-submit = Confirmer
verify-wrong = Ce code n'est pas le bon. Vérifiez l'e-mail et réessayez.
verify-expired-title = Ce code n'est plus valable
verify-expired-text = Un code est valable 10 minutes et pour quelques essais seulement. Recommencez la connexion pour en recevoir un nouveau.
verify-send-failed-title = Nous n'avons pas pu envoyer le code
verify-send-failed-text = L'envoi de l'e-mail a échoué. Réessayez dans quelques minutes.
verify-mail-subject = Votre code de connexion au centre d'aide
verify-mail-body = Votre code est { $code }. Saisissez-le sur la page de connexion dans les 10 minutes. Si vous n'avez pas essayé de vous connecter au centre d'aide de { $org }, ignorez cet e-mail : rien ne se passe sans le code.

login-member-site = Se connecter avec votre compte de membre
login-or-password = Ou connectez-vous avec le nom d'utilisateur et le mot de passe du système des membres :
sso-expired-title = Votre connexion au site des membres a expiré
sso-expired-text = La connexion par le site des membres ne dure que quelques minutes et ne sert qu'une fois. Recommencez : vous n'aurez peut-être rien à saisir.
sso-unsolicited-title = Cette connexion n'a pas commencé ici
sso-unsolicited-text = Pour vous connecter au centre d'aide, commencez depuis le centre d'aide ou depuis cette page.

busy-title = Le service de connexion est occupé
busy-text = Trop de connexions sont en cours en ce moment. Rien n'a été envoyé ; veuillez réessayer dans quelques secondes.

loop-title = La connexion revient sans cesse ici
loop-text = Le centre d'aide vous a renvoyé vers la connexion plusieurs fois de suite : nous nous sommes arrêtés ici plutôt que de tourner en rond. Votre compte n'a rien.
loop-admin = Pour l'administrateur : vérifiez que le secret partagé de Zendesk est le ZENDESK_JWT_SECRET du pont, que l'URL de déconnexion à distance de Zendesk est le /logout de ce service, et qu'aucun thème du centre d'aide ne renvoie les membres connectés vers la connexion.

zendesk-error-neutral = Vous n'avez pas été connecté. Veuillez réessayer ; si cela se reproduit, contactez { $org }.
