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


def shared_workflow(request, token: str):
    """The read-only page a share link opens (only while the workflow is shared)."""
    from django.http import Http404

    from graph.models import Workflow
    from graph.services import public_graph

    workflow = Workflow.objects.filter(share_token=token, link_permission="view",
                                       deleted_at__isnull=True).first()
    if workflow is None:
        raise Http404("No shared workflow here")
    return render(request, "shared_workflow.html", {"graph": public_graph(workflow)})
