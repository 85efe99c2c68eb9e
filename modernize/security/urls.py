from django.urls import path

from modernize.security import views

urlpatterns = [
    path("role-changes/", views.RoleChangeListCreateView.as_view(), name="role-changes"),
    path("role-changes/<uuid:pk>/approve/", views.RoleChangeDecisionView.as_view(decision="approve"), name="role-change-approve"),
    path("role-changes/<uuid:pk>/reject/", views.RoleChangeDecisionView.as_view(decision="reject"), name="role-change-reject"),
]
