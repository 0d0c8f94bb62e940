"""Server-rendered pages around the editor."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import principal_for_user
from graph.selectors import workflow_list


@login_required(login_url="/login/")
def home(request):
    principal = principal_for_user(request.user)
    workflows = workflow_list(principal=principal).select_related("team")
    return render(
        request,
        "home.html",
        {"teams": list(principal.teams.values()), "workflows": workflows},
    )
