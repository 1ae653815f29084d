"""A moderator in a real browser: log in to the admin, hide a reply, see the topic's balance redrawn."""

import importlib
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission

from discussions import services as discussion_services
from tests.support.browser import chrome
from tests.support.factories import PASSWORD, UserFactory, make_reply

SCREENSHOT = Path(__file__).resolve().parent.parent / "var" / "admin-hide-reply.png"


@pytest.fixture
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def moderators_group():
    """The group as its migrations make it: a transactional test before this one may have flushed it."""
    migration = importlib.import_module("forum.migrations.0003_moderators_group")
    group, _ = Group.objects.get_or_create(name=migration.GROUP)
    for app_label, codenames in migration.PERMISSIONS.items():
        # discussions 0006 moved Flag's content type, and so its permissions, from forum to discussions.
        labels = [app_label, "discussions"] if app_label == "forum" else [app_label]
        permissions = Permission.objects.filter(content_type__app_label__in=labels, codename__in=codenames)
        assert permissions.count() == len(codenames), app_label
        group.permissions.add(*permissions)
    return group


# A live server reads committed data, hence transaction=True.
@pytest.mark.django_db(transaction=True)
def test_a_moderator_hides_a_reply_and_the_balance_chart_follows(live_server, browser, topic, thread, other):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    moderator = UserFactory(username="desk", is_staff=True)
    moderator.groups.add(moderators_group())
    assert moderator.has_perm("discussions.view_flag")  # the flag queue, now under /admin/discussions/flag/
    target = make_reply(thread=thread, author=other, stance="pro-openai", body="A reply that crosses the line.")
    make_reply(thread=thread, author=UserFactory(username="calm"), stance="pro-openai", body="A civil reply.")
    discussion_services.vote_cast(actor=moderator, reply_id=target.pk, value=1)

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("desk")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # find_element waits (implicitly) for the next page; page_source would read whichever page is there now.
    assert "desk" in browser.find_element(By.ID, "user-tools").text.lower()

    def openai_numbers():
        browser.get(f"{live_server.url}/admin/discussions/topic/{topic.pk}/change/")
        text = browser.find_element(By.CSS_SELECTOR, '#stance-balance .stance-numbers[data-stance="pro-openai"]')
        return int(text.get_attribute("data-replies")), int(text.get_attribute("data-upvotes"))

    assert openai_numbers() == (2, 1)

    browser.get(f"{live_server.url}/admin/discussions/reply/")
    browser.find_element(By.CSS_SELECTOR, f'input[name="_selected_action"][value="{target.pk}"]').click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("hide")
    browser.find_element(By.CSS_SELECTOR, 'button[name="index"], input[name="index"]').click()
    browser.find_element(By.NAME, "reason").send_keys("Personal attack on another member.")
    browser.find_element(By.CSS_SELECTOR, "form input[type=submit].default").click()
    assert browser.find_element(By.CSS_SELECTOR, "ul.messagelist li").text == "Hid 1 replies."

    target.refresh_from_db()
    assert target.state == "hidden"
    # The hidden reply and its upvote leave the picture, drawn again from the maintained tallies.
    assert openai_numbers() == (1, 0)
    assert browser.find_element(By.CSS_SELECTOR, "svg#stance-balance").is_displayed()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def _csp_violations(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]


# A live server reads committed data, hence transaction=True.
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_the_browsable_api_and_the_admin_work_under_the_content_security_policy(live_server, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/api/docs/")
    # Rendered by Swagger UI's scripts: only there if the policy let them run.
    assert browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text.strip()
    browser.get(f"{live_server.url}/api/topics/")
    assert browser.find_element(By.CSS_SELECTOR, ".response-info").is_displayed()
    browser.get(f"{live_server.url}/admin/login/")
    assert browser.find_element(By.ID, "id_username").is_displayed()

    assert _csp_violations(browser) == []
