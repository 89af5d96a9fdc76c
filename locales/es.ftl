# Español. Los mismos mensajes que en.ftl; `$org` es BRAND_NAME, o `org-default`.

org-default = su asociación
language-name = Español

help-link = Ayuda y contacto
logo-alt = { $org }

landing-title = Acceso al centro de ayuda
landing-intro = Inicie sesión con su cuenta de socio para consultar y abrir solicitudes de soporte.
landing-button = Acceder al centro de ayuda

login-title = Iniciar sesión
login-intro = Utilice su cuenta de socio para continuar al centro de ayuda.
login-username = Nombre de usuario
login-password = Contraseña
login-submit = Iniciar sesión
login-forgot = ¿Ha olvidado su contraseña?
login-wrong-credentials = El nombre de usuario y la contraseña no coinciden con nuestros registros. Compruébelos e inténtelo de nuevo.
login-missing-credentials = Introduzca su nombre de usuario y su contraseña.

deliver-title = Iniciando sesión…
deliver-text = Le estamos llevando al centro de ayuda. Si no ocurre nada, pulse el botón.
deliver-button = Continuar al centro de ayuda

link-sign-in-again = Volver a iniciar sesión
link-start-page = Ir a la página de inicio
link-help-centre = Volver al centro de ayuda
error-reference = Si se pone en contacto con nosotros, indique esta referencia:

unavailable-title = No podemos comprobar su afiliación en este momento
unavailable-text = El sistema de socios no ha respondido. Su contraseña no ha sido rechazada: inténtelo de nuevo dentro de unos minutos.

unexpected-title = Algo ha salido mal
unexpected-text = No hemos podido iniciar su sesión por un error de nuestra parte. Inténtelo de nuevo dentro de unos minutos.

refused-title = No podemos darle acceso al centro de ayuda
refused-inactive = Su afiliación no está activa, por lo que no puede usarla para acceder al centro de ayuda.
refused-inactive-next = Si cree que se trata de un error, o para renovarla, póngase en contacto con { $org }.
refused-no-email = Su ficha de socio no tiene una dirección de correo electrónico principal, que el centro de ayuda necesita para responderle.
refused-no-email-next = Añada una a su perfil de socio o póngase en contacto con { $org }.
refused-shared-email = Su dirección de correo electrónico figura en más de una ficha de socio, así que no podemos saber qué cuenta del centro de ayuda es la suya.
refused-shared-email-next = Póngase en contacto con { $org } para que corrijan su ficha de socio.
refused-no-record = Su contraseña es correcta, pero no hemos encontrado una ficha de socio para su cuenta.
refused-no-record-next = Póngase en contacto con { $org } para que revisen su cuenta.

denied-email-taken = Su dirección de correo electrónico ya la usa otra cuenta del centro de ayuda, así que no podemos iniciar su sesión con ella.
denied-email-taken-next = Póngase en contacto con { $org } e indique la referencia que aparece abajo; podrán vincular su cuenta de forma segura.
denied-suspended = Su cuenta del centro de ayuda está suspendida.
denied-suspended-next = Póngase en contacto con { $org } e indique la referencia que aparece abajo.
denied-zendesk-title = No se puede acceder al centro de ayuda en este momento
denied-zendesk-text = No hemos podido completar las comprobaciones que protegen las cuentas del centro de ayuda. Su contraseña no ha sido rechazada: inténtelo de nuevo en breve.

policy-denied-text = Su afiliación no incluye acceso al centro de ayuda.
policy-denied-contact = Si cree que se trata de un error, póngase en contacto con { $org }.

throttled-title = Demasiados intentos de inicio de sesión
throttled-text = Ha habido demasiados intentos fallidos de inicio de sesión, así que el acceso se ha pausado un tiempo para proteger su cuenta.
throttled-reset = Si ha olvidado su contraseña, restablézcala primero en el sistema de socios.
throttled-wait = { $minutes ->
    [one] Podrá intentarlo de nuevo dentro de 1 minuto.
   *[other] Podrá intentarlo de nuevo dentro de { $minutes } minutos.
}

expired-title = Esta página de inicio de sesión ha caducado
expired-text = Por su seguridad, los formularios de inicio de sesión solo funcionan durante poco tiempo y solo desde este sitio. No se ha enviado nada.

bad-request-title = No hemos podido leer esa solicitud
bad-request-text = El enlace o el formulario que ha utilizado no estaba completo o no era válido. Empiece de nuevo desde el centro de ayuda.

not-found-title = Página no encontrada
not-found-text = No hay nada en esta dirección.

signed-out-title = Ha cerrado la sesión
signed-out-text = Ha cerrado la sesión del centro de ayuda. Para volver a entrar, visite el centro de ayuda.

zendesk-error-title = El centro de ayuda no ha podido iniciar su sesión
zendesk-error-said = Zendesk, que gestiona nuestro centro de ayuda, rechazó el inicio de sesión con este mensaje:
zendesk-error-next = No ha iniciado sesión. Inténtelo de nuevo dentro de unos minutos; si el problema continúa, póngase en contacto con { $org } e indique el mensaje anterior.
zendesk-error-no-reason = (Zendesk no indicó ningún motivo)
admin-summary = Para los administradores del servicio de asistencia
admin-text = Si el inicio de sesión único falla, todavía puede acceder a Zendesk:
admin-normal = Iniciar sesión con una contraseña de Zendesk (/access/normal)
admin-bypass = Solicitar un enlace de acceso de un solo uso para el propietario de la cuenta (/access/sso_bypass)

denied-unlinked = Su dirección de correo ya tiene una cuenta del centro de ayuda que aún no está unida a su membresía.
denied-unlinked-next = Póngase en contacto con { $org } e indique la referencia que aparece abajo; podrán unir las dos cuentas.
verify-title = Confirme su dirección de correo
verify-why = Su dirección de correo ya tiene una cuenta del centro de ayuda. Antes de unirla a su membresía, comprobamos que la dirección es suya.
verify-sent = Hemos enviado un código de 6 dígitos a { $address }. Es válido durante 10 minutos.
verify-code = Código del correo
verify-submit = Confirmar
verify-wrong = Ese código no es correcto. Revise el correo e inténtelo de nuevo.
verify-expired-title = Este código ya no es válido
verify-expired-text = Los códigos son válidos durante 10 minutos y para pocos intentos. Vuelva a iniciar sesión para recibir uno nuevo.
verify-send-failed-title = No hemos podido enviar el código
verify-send-failed-text = Algo falló al enviar el correo. Inténtelo de nuevo en unos minutos.
verify-mail-subject = Su código de acceso al centro de ayuda
verify-mail-body = Su código es { $code }. Introdúzcalo en la página de acceso en los próximos 10 minutos. Si no ha intentado acceder al centro de ayuda de { $org }, ignore este correo: sin el código no ocurre nada.

login-member-site = Iniciar sesión con su cuenta de miembro
login-or-password = O inicie sesión con el usuario y la contraseña del sistema de miembros:
sso-expired-title = Su inicio de sesión en el sitio de miembros ha caducado
sso-expired-text = El inicio de sesión a través del sitio de miembros solo dura unos minutos y sirve una vez. Empiece de nuevo: quizá no tenga que escribir nada.
sso-unsolicited-title = Este inicio de sesión no empezó aquí
sso-unsolicited-text = Para acceder al centro de ayuda, empiece desde el centro de ayuda o desde esta página.

busy-title = El servicio de inicio de sesión está ocupado
busy-text = Hay demasiados inicios de sesión en curso en este momento. No se ha enviado nada; inténtelo de nuevo en unos segundos.

loop-title = El inicio de sesión vuelve una y otra vez aquí
loop-text = El centro de ayuda le ha devuelto al inicio de sesión varias veces seguidas, así que nos hemos detenido aquí en lugar de dar vueltas. Su cuenta está bien.
loop-admin = Para el administrador: compruebe que el secreto compartido de Zendesk es el ZENDESK_JWT_SECRET del puente, que la URL de cierre de sesión remoto de Zendesk es el /logout de este servicio y que ningún tema del centro de ayuda devuelve a los miembros conectados al inicio de sesión.

zendesk-error-neutral = No ha iniciado sesión. Inténtelo de nuevo; si vuelve a ocurrir, póngase en contacto con { $org }.
