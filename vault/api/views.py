from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import exceptions, viewsets
from rest_framework.renderers import JSONRenderer

from billing.models import Role
from billing.tenancy import actor_from_request, scope_queryset_for_request
from billing.tenancy_api import OrganizationApiMixin, acting_organization
from vault.api.serializers import VaultEntrySerializer
from vault.models import VaultEntry
from vault.services import vault_delete, vault_entry_create, vault_entry_update


def _as_drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"nonFieldErrors": exc.messages}
    return exceptions.ValidationError(detail)


@method_decorator(sensitive_post_parameters("value"), name="dispatch")
class VaultEntryViewSet(OrganizationApiMixin, viewsets.ModelViewSet):
    """The caller's organization's vault: names and metadata; values are write-only."""

    serializer_class = VaultEntrySerializer
    # JSON only: the browsable API would echo a rejected POST's fields back into its form.
    renderer_classes = [JSONRenderer]
    filterset_fields = ["key"]
    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "create": Role.ADMIN,
        "update": Role.ADMIN,
        "partial_update": Role.ADMIN,
        "destroy": Role.ADMIN,
    }

    def get_queryset(self):
        qs = VaultEntry.objects.order_by("key", "id")
        return scope_queryset_for_request(qs, self.request)

    def perform_create(self, serializer):
        organization = acting_organization(self.request)
        data = serializer.validated_data
        try:
            serializer.instance = vault_entry_create(
                organization=organization,
                key=data["key"],
                value=data["value"],
                description=data.get("description", ""),
                actor=actor_from_request(self.request),
            )
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None

    def perform_update(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = vault_entry_update(
                entry=serializer.instance,
                key=data.get("key"),
                value=data.get("value"),
                description=data.get("description"),
                actor=actor_from_request(self.request),
            )
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None

    def perform_destroy(self, instance):
        vault_delete(entry=instance, actor=actor_from_request(self.request))
