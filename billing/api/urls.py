from django.urls import path

from billing.api import views

urlpatterns = [
    path("audit/", views.AuditEntryViewSet.as_view({"get": "list"}), name="audit-list"),
    path(
        "audit/<uuid:pk>/",
        views.AuditEntryViewSet.as_view({"get": "retrieve"}),
        name="audit-detail",
    ),
]
