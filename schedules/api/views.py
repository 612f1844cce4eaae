from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from schedules import cron
from schedules.api.serializers import PreviewQuerySerializer, PreviewResponseSerializer


def iso_z(instant) -> str:
    """ISO-8601 UTC with `Z`, whole seconds — the API's one instant format."""
    return instant.astimezone(timezone.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PreviewView(APIView):
    """The next N occurrences of any expression in any timezone after any instant."""

    @extend_schema(parameters=[PreviewQuerySerializer], responses=PreviewResponseSerializer)
    def get(self, request):
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        spec = data["cron"]
        after = data.get("after") or timezone.now()
        runs = cron.next_n(spec, data["timezone"], after, data["count"])
        return Response(
            {
                "cron": spec.expression,
                "timezone": data["timezone"],
                "description": cron.describe(spec),
                "nextRuns": [iso_z(r) for r in runs],
            }
        )
