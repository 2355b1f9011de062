"""Provider webhooks (/webhooks/<provider>/): store the raw delivery, process it, answer
in the provider's own form. CSRF-exempt (providers post from their servers) and
authenticated by each provider's signature scheme instead."""

from django.http import Http404, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from backoffice.middleware import client_ip

from .notifications import headers_to_keep, notification_process, notification_store
from .providers import built_webhooks, get_adapter


@csrf_exempt
def webhook(request, provider: str):
    if provider not in built_webhooks():
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    n = notification_store(
        provider=provider,
        headers=headers_to_keep(request.META),
        body=request.body,
        remote_addr=client_ip(request),
    )
    ack = notification_process(notification_id=n.pk)
    return get_adapter(provider).acknowledge(ack)
