from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import app_views, team_views, template_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("workflows/<str:workflow_id>", views.editor, name="editor"),
    path("workflows/<str:workflow_id>/history", team_views.workflow_history,
         name="workflow-history"),
    path("workflows/<str:workflow_id>/publish", app_views.app_publish, name="app-publish"),
    path("apps/<str:slug>", app_views.app_page, name="app-page"),
    path("apps/<str:slug>/unlock", app_views.app_unlock, name="app-unlock"),
    path("apps/<str:slug>/runs", app_views.app_visitor_run, name="app-runs"),
    path("apps/<str:slug>/uploads", app_views.app_visitor_upload, name="app-uploads"),
    path("apps/<str:slug>/runs/<str:token>", app_views.app_visitor_run_status, name="app-run"),
    path("gallery", views.gallery, name="gallery"),
    path("templates", template_views.templates_gallery, name="templates"),
    path("templates/<str:template_id>/use", template_views.template_use, name="template-use"),
    path("templates/<str:template_id>/delete", template_views.template_delete_page,
         name="template-delete"),
    path("share/<str:token>", views.shared_workflow, name="shared-workflow"),
    path("share/<str:token>/files/<str:asset_id>/<str:variant>", views.shared_workflow_file,
         name="shared-workflow-file"),
    path("share/<str:token>/duplicate", views.shared_workflow_duplicate,
         name="shared-workflow-duplicate"),
    path("team", team_views.team_members, name="team"),
    path("team/keys", team_views.team_keys, name="team-keys"),
    path("team/usage", team_views.team_usage, name="team-usage"),
    path("team/usage/chart.svg", team_views.team_usage_chart, name="team-usage-chart"),
    path("team/activity", team_views.team_activity, name="team-activity"),
    path("team/apps", app_views.team_apps, name="team-apps"),
    path("team/apps/<str:slug>/edit", app_views.app_edit, name="app-edit"),
    path("invite/<str:token>", team_views.invite_page, name="invite"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
]
