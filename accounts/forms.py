from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from core import crypto

from .models import SpecialtyBase, User
from .validators import normalize_id_number, validate_id_number, validate_phone


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "The username or password is wrong. After repeated failures the account is locked for a while."
        ),
        "inactive": _(
            "This account is not active yet. Registrations are activated after the training office approves them."
        ),
    }

    def confirm_login_allowed(self, user):
        if user.status != "active":
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive")


class RegistrationForm(forms.Form):
    real_name = forms.CharField(label=_("Real name"), max_length=50)
    id_number = forms.CharField(label=_("ID card number"), max_length=18, min_length=18)
    phone = forms.CharField(label=_("Mobile phone"), max_length=11, validators=[validate_phone])
    email = forms.EmailField(label=_("Email"), required=False)
    base = forms.ModelChoiceField(
        label=_("Specialty base applied to"),
        queryset=SpecialtyBase.objects.filter(is_active=True),
        empty_label=_("Choose a base"),
    )
    username = forms.RegexField(
        label=_("Username"),
        max_length=30,
        min_length=4,
        regex=r"^[A-Za-z0-9_.-]+$",
        help_text=_("4–30 letters, digits, dots, dashes or underscores."),
        error_messages={"invalid": _("Use only letters, digits, dots, dashes and underscores.")},
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean_id_number(self):
        value = normalize_id_number(self.cleaned_data["id_number"])
        validate_id_number(value)
        if User.objects.filter(id_number_digest=crypto.digest(value)).exists():
            raise forms.ValidationError(
                _("An account with this ID number exists already. Contact the training office if it is yours.")
            )
        return value

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            probe = User(
                username=data.get("username", ""), real_name=data.get("real_name", ""), email=data.get("email", "")
            )
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
