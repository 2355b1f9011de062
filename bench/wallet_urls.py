"""Bench-only URLconf (bench/wallet_settings.py): the application's URLs plus
`POST bench/ping`, a trivial Django JSON view behind the same middleware, served by the
same gunicorn as the wallet API. It reads the body (the load generator sends it a
wallet-sized signed body) and answers a wallet-shaped JSON without touching the database."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from backoffice.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def ping(request):
    return JsonResponse({"status": "OK", "balance": None, "currency": None, "bytes": len(request.body)})


urlpatterns = [path("bench/ping", ping), *app_urlpatterns]
