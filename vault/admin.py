from django.contrib import admin

from vault.models import VaultEntry


@admin.register(VaultEntry)
class VaultEntryAdmin(admin.ModelAdmin):
    # Values are write-only: the ciphertext field is not editable and never listed.
    list_display = ["key", "organization", "description", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["key"]
