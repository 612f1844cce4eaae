from rest_framework.routers import SimpleRouter

from vault.api.views import VaultEntryViewSet

router = SimpleRouter()
router.register("vault", VaultEntryViewSet, basename="vault-entry")

urlpatterns = router.urls
