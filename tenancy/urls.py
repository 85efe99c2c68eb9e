from django.urls import path

from tenancy import views

urlpatterns = [
    path("auth/token/", views.TokenCreateView.as_view(), name="auth-token"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="auth-token-revoke"),
    path("me/", views.MeView.as_view(), name="me"),
    path("engagements/", views.EngagementListCreateView.as_view(), name="engagements"),
]
