from django.urls import path

from patterns import views

urlpatterns = [
    path("patterns/", views.PatternListView.as_view(), name="pattern-list"),
    path("patterns/search/", views.PatternSearchView.as_view(), name="pattern-search"),
    path("patterns/<uuid:pattern_id>/", views.PatternDetailView.as_view(), name="pattern-detail"),
    path("patterns/<uuid:pattern_id>/similar/", views.PatternSimilarView.as_view(), name="pattern-similar"),
    path("patterns/<uuid:pattern_id>/feedback/", views.PatternFeedbackView.as_view(), name="pattern-feedback"),
    path("patterns/<uuid:pattern_id>/evidence/", views.PatternEvidenceView.as_view(), name="pattern-evidence"),
    path("patterns/<uuid:pattern_id>/reference/", views.PatternReferenceView.as_view(), name="pattern-reference"),
]
