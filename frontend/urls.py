from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("workflows/<str:workflow_id>", views.editor, name="editor"),
    path("share/<str:token>", views.shared_workflow, name="shared-workflow"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
]
