"""Users: Django's user admin, with a column saying who is suspended now."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef

from forum.models import Suspension, User


@admin.register(User)
class ForumUserAdmin(UserAdmin):
    list_display = [*UserAdmin.list_display, "suspended"]
    search_fields = ["username", "email", "first_name", "last_name"]  # also what the autocompletes search

    def get_queryset(self, request):
        in_force = Suspension.objects.filter(Suspension.active_q(), user=OuterRef("pk"))
        return super().get_queryset(request).annotate(is_suspended=Exists(in_force))

    @admin.display(boolean=True, description="suspended", ordering="is_suspended")
    def suspended(self, obj):
        return obj.is_suspended
