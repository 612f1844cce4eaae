from rest_framework import serializers

from vault.models import VaultEntry, key_name_validator


class VaultEntrySerializer(serializers.ModelSerializer):
    """Names and metadata; `value` is write-only and never part of any response or error."""

    key = serializers.CharField(max_length=128, validators=[key_name_validator])
    value = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        allow_blank=False,
        style={"input_type": "password"},
        help_text="Write-only. Required on create; on update, replaces the stored value.",
        error_messages={
            "blank": "The value must not be empty.",
            "invalid": "The value must be text.",
        },
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815
    hasValue = serializers.SerializerMethodField()  # noqa: N815

    class Meta:
        model = VaultEntry
        fields = ["id", "key", "value", "description", "createdAt", "updatedAt", "hasValue"]
        read_only_fields = ["id"]

    def get_hasValue(self, obj) -> bool:  # noqa: N802
        return bool(obj.ciphertext)

    def validate(self, attrs):
        if self.instance is None and "value" not in attrs:
            raise serializers.ValidationError({"value": "This field is required."})
        return attrs
