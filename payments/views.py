"""Provider webhooks (/webhooks/<provider>/): store the raw delivery, process it, answer
in the provider's own form. CSRF-exempt (providers post from their servers) and
authenticated by each provider's signature scheme instead."""

from django.http import Http404, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from backoffice.middleware import client_ip

from .notifications import headers_to_keep, notification_handle, notification_store
from .providers import built_webhooks, get_adapter


@csrf_exempt
def webhook(request, provider: str):
    if provider not in built_webhooks():
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    headers = headers_to_keep(request.META)
    if request.META.get("QUERY_STRING"):
        # Zimpler's KYC callback is our webhook URL with ?callback=kyc: kept with the row.
        headers["x-pitboss-query"] = request.META["QUERY_STRING"][:500]
    n = notification_store(
        provider=provider,
        headers=headers,
        body=request.body,
        remote_addr=client_ip(request),
    )
    ack, parsed = notification_handle(notification_id=n.pk)
    return get_adapter(provider).acknowledge(ack, parsed)
