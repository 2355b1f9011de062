from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("compliance", "0016_risk_scoring")]
    operations = []
