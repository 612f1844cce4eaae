"""Forms of the schedules staff UI: the grouped schedule form and the pause note."""

from __future__ import annotations

import functools
import zoneinfo

from django import forms
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join

from config import clock
from schedules.models import GUARDRAILS, WHEN_FIELDS, Schedule, run_at_in_past_error

VARIABLES_EXAMPLE = '{"region": "us-east"}'
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}

# What each guardrail means, before the range the model states ("1..1320, default 720.").
GUARDRAIL_HELP = {
    "max_runtime_minutes": "The script is killed (timed out) after this long.",
    "max_retries": "Retries after a transient failure (exit 75) only; other failures never retry.",
    "retry_delay_seconds": "Wait before each retry.",
    "concurrency_limit": "Runs of this schedule that may be active at once; beyond it an "
    "occurrence is skipped (concurrency_limit), or waits, by the overlap policy.",
    "idempotency_window_minutes": "No new run while a job of this schedule was created within "
    "this window (0 = off).",
    "catch_up_window_minutes": "After downtime, the most recent missed run still starts if it "
    "is younger than this; older ones are skipped (missed).",
    "auto_pause_after_failures": "Pause the schedule after this many failed runs in a row, with "
    "the reason in its note (0 = off).",
}


@functools.cache
def _timezone_datalist() -> str:
    names = sorted(zoneinfo.available_timezones() - {"localtime"})
    return format_html(
        '<datalist id="mimic-timezones">{}</datalist>',
        format_html_join("", '<option value="{}">', ((n,) for n in names)),
    )


class TimezoneInput(forms.TextInput):
    """A text input suggesting the IANA names (any valid name is accepted, e.g. `Etc/GMT+5`)."""

    def __init__(self, attrs=None):
        super().__init__(
            {
                "list": "mimic-timezones",
                "autocomplete": "off",
                "class": "vTextField",
                **(attrs or {}),
            }
        )

    def render(self, name, value, attrs=None, renderer=None):
        return super().render(name, value, attrs, renderer) + _timezone_datalist()


class ScheduleAdminForm(forms.ModelForm):
    """What / When / Guardrails / Inputs. Validation messages come from the model's validators
    (cron.parse, the timezone check, the guardrail ranges), so the form and the API agree."""

    variables = forms.JSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "spellcheck": "false"}),
        error_messages={"invalid": f"Enter valid JSON: a JSON object such as {VARIABLES_EXAMPLE}."},
        help_text=f"A JSON object, e.g. {VARIABLES_EXAMPLE}; given to the script on stdin.",
    )
    vault_keys = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Secrets injected at run time, picked from the organization's vault (values "
        "never leave the vault).",
    )

    class Meta:
        model = Schedule
        fields = [
            "organization",
            "name",
            "script",
            "agent",
            *WHEN_FIELDS,
            *GUARDRAILS,
            "variables",
            "vault_keys",
        ]
        widgets = {
            "cron_expression": forms.TextInput(
                attrs={
                    "class": "vTextField mimic-cron",
                    "placeholder": "30 2 * * *",
                    "autocomplete": "off",
                    "spellcheck": "false",
                    "data-preview-url": reverse_lazy("schedule-preview"),
                }
            ),
            "timezone": TimezoneInput(),
            "calendars": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "cron_expression": "Five fields: minute hour day-of-month month day-of-week "
            "(e.g. 30 2 * * *, */15 * * * *, 0 9 * * MON-FRI, 0 18 L * *, 0 9 * * MON#1) or "
            "@daily, @hourly….",
            "timezone": "IANA name (e.g. America/New_York); the cron is read in this timezone, "
            "DST included.",
            "enabled": "Unticked = paused: the tick never runs it.",
            "run_at": "A one-time run at this instant (UTC) instead of a cron expression: "
            "leave the cron empty. It must be in the future.",
            "starts_at": "No run before this instant (UTC). Empty = at once.",
            "ends_at": "No run at or after this instant (UTC); then the schedule stops "
            "(ended). Empty = never.",
            "remaining_runs": "Scheduled runs left (1 or more; empty = unlimited). Each "
            "scheduled run takes one, Run now none; at 0 the schedule stops (run_budget_spent) "
            "until you raise it.",
            "jitter_seconds": "Start each run up to this many seconds after its scheduled time "
            "(0..3600; 0 = sharp), the same offset for the same run, never as late as the next "
            "one: spreads schedules that share a minute. The run keeps its scheduled time.",
            "overlap_policy": "When the concurrency limit blocks a run: skip it (default); "
            "queue one (it waits and runs when a slot frees; a newer blocked run replaces the "
            "waiting one, so at most one waits); or replace (the running job is canceled, its "
            "processes killed, and the new run starts once it has ended).",
            "calendars": "Calendars of the organization whose excluded dates this schedule skips "
            "(calendar_excluded), read in its timezone; Run now is not held back by them.",
            "start_deadline_minutes": "A run that cannot start within this many minutes of its "
            "scheduled time is not started late: skipped, or canceled if it is still waiting "
            "(start_deadline_exceeded). 1..10080; empty = no deadline. Run now has none.",
        }

    class Media:
        js = ["schedules/admin/cron_preview.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, meaning in GUARDRAIL_HELP.items():
            if name in self.fields:
                self.fields[name].help_text = f"{meaning} {self.fields[name].help_text}"
        self.set_vault_key_names(set())

    def set_vault_key_names(self, existing: set[str]) -> None:
        """Offer the organization's vault key names; keys the schedule names that do not exist
        (deleted since) stay selectable and are flagged: runs are skipped until they are set."""
        field = self.fields["vault_keys"]
        assert isinstance(field, forms.ChoiceField)  # a MultipleChoiceField (Meta.widgets)
        selected = list(self.instance.vault_keys or []) if self.instance.pk else []
        missing = [key for key in selected if key not in existing]
        field.choices = [(key, key) for key in sorted(existing)] + [
            (key, f"{key} — missing from the vault") for key in missing
        ]
        base = (
            "Secrets injected at run time, picked from the organization's vault (values never "
            "leave the vault)."
        )
        if not existing and not missing:
            base += " The organization has no vault entries yet: add them under Vault entries."
        if missing:
            field.help_text = format_html(
                '{} <span class="mimic-missing">Missing from the vault: {}. Runs are skipped '
                "(vault_keys_missing) until they are set.</span>",
                base,
                ", ".join(missing),
            )
        else:
            field.help_text = base

    def clean_remaining_runs(self):
        value = self.cleaned_data.get("remaining_runs")
        # 0 is what a spent budget reads as: saving it unchanged is fine, setting it is not.
        if value == 0 and self.instance.remaining_runs != 0:
            raise forms.ValidationError(
                "Must be 1 or more (empty = unlimited); to stop a schedule, pause it."
            )
        return value

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or (
            self.instance.organization if self.instance.organization_id else None
        )
        chosen = cleaned.get("calendars") or []
        if organization is not None and any(c.organization_id != organization.pk for c in chosen):
            self.add_error("calendars", "Pick calendars of the schedule's organization.")
        return cleaned

    def _post_clean(self):
        # After the model's own checks (which need run_at in cleaned_data to tell "neither cron
        # nor run at" from "run at in the past"). `checked_at` is the instant the admin saves
        # with (ScheduleAdmin.save_model), so the check and the save agree on "the future".
        initial_run_at = self.instance.run_at
        super()._post_clean()
        self.checked_at = clock.control_plane_now()
        run_at = self.cleaned_data.get("run_at")
        if run_at is not None and run_at != initial_run_at:
            error = run_at_in_past_error(run_at, self.checked_at)
            if error:
                self.add_error("run_at", error)

    def clean_variables(self):
        value = self.cleaned_data.get("variables")
        if value is None:
            return {}
        if not isinstance(value, dict):
            kind = _JSON_KINDS.get(type(value), "value")
            raise forms.ValidationError(
                f"Variables must be a JSON object, e.g. {VARIABLES_EXAMPLE}; got a JSON {kind}."
            )
        return value


class PauseForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why, and until when (shown on the schedule and in its history).",
    )
