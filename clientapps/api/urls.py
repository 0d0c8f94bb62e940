"""Client app routes of /api/v1."""

from django.urls import path

from clientapps.api import views

app_name = "clientapps"

urlpatterns = [
    path("apps", views.AppListApi.as_view(), name="list"),
    path("apps/<str:slug>", views.AppDetailApi.as_view(), name="detail"),
    path("apps/<str:slug>/run", views.AppRunApi.as_view(), name="run"),
]
