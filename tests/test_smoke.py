from tests.conftest import login


def test_login_and_dashboard(client, district):
    resp = login(client, "admin_a")
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "甲小学" in page
    assert "乙小学" not in page
