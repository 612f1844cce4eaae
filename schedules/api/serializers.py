from rest_framework import serializers

from schedules import cron


class CronExpressionField(serializers.CharField):
    """A cron expression validated by schedules.cron; the value becomes a parsed CronSpec."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return cron.parse(text)
        except cron.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None


class TimezoneField(serializers.CharField):
    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        try:
            cron.validate_timezone(name)
        except cron.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return name


class PreviewQuerySerializer(serializers.Serializer):
    cron = CronExpressionField(max_length=200)
    timezone = TimezoneField(max_length=64, default="UTC")
    after = serializers.DateTimeField(required=False, help_text="ISO-8601; defaults to now.")
    count = serializers.IntegerField(min_value=1, max_value=50, default=5)


class PreviewResponseSerializer(serializers.Serializer):
    cron = serializers.CharField()
    timezone = serializers.CharField()
    description = serializers.CharField()
    nextRuns = serializers.ListField(child=serializers.DateTimeField())  # noqa: N815
