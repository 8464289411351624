import pytest

from plexsync.core.paths import PathMap
from plexsync.core.settings import Settings, defaults_to_write, setting_names
from plexsync.errors import ConfigError


def test_untouched_keys_take_the_documented_defaults() -> None:
    s = Settings.from_mapping({})
    assert s.enabled and s.strict_matching and s.lock_fields and not s.preserve_plex_edits
    assert (s.tags_as, s.max_tags, s.max_retries, s.queue_timeout) == ("genres", 100, 5, 0)
    assert (s.connect_timeout, s.read_timeout, s.dlq_retention_days) == (5.0, 30.0, 30)
    assert s.reconcile_interval == "never" and s.reconcile_scope == "24h"


def test_values_from_stash_are_coerced_from_strings_and_numbers() -> None:
    s = Settings.from_mapping({"enabled": "false", "max_tags": 50.0, "read_timeout": "12",
                               "plex_library": "Movies, Scenes ,", "tags_as": "Both"})
    assert s.enabled is False and s.max_tags == 50 and s.read_timeout == 12.0
    assert s.plex_library == ("Movies", "Scenes") and s.tags_as == "both"


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"tags_as": "tagz"}, "tags_as"),
        ({"max_tags": "lots"}, "max_tags"),
        ({"max_tags": 2.5}, "max_tags"),
        ({"max_retries": -1}, "max_retries"),
        ({"enabled": "maybe"}, "enabled"),
        ({"plex_url": "192.168.1.5:32400"}, "plex_url"),
        ({"reconcile_interval": "monthly"}, "reconcile_interval"),
        ({"path_map": "/data/videos"}, "path_map"),
        ({"dlq_retention_days": 0}, "dlq_retention_days"),
    ],
)
def test_invalid_setting_gives_one_line_error_naming_it(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping(raw)
    message = str(info.value)
    assert named in message and "\n" not in message


def test_missing_plex_credentials_are_reported_only_when_plex_is_needed() -> None:
    s = Settings.from_mapping({})
    with pytest.raises(ConfigError, match="plex_url"):
        s.require_plex()
    with pytest.raises(ConfigError, match="plex_token"):
        Settings.from_mapping({"plex_url": "http://h:32400"}).require_plex()


def test_old_plugin_keys_fill_in_unset_url_and_token() -> None:
    s = Settings.from_mapping({"plexHost": "192.168.1.5", "plexPort": "32401", "plexToken": "tok"})
    assert (s.plex_url, s.plex_token, s.legacy_used) == ("http://192.168.1.5:32401", "tok", True)


def test_new_keys_win_over_the_old_plugin_keys() -> None:
    s = Settings.from_mapping({"plex_url": "https://plex.lan", "plex_token": "new",
                               "plexHost": "old", "plexToken": "old"})
    assert (s.plex_url, s.plex_token, s.legacy_used) == ("https://plex.lan", "new", False)


def test_path_map_longest_prefix_wins_on_segment_boundaries() -> None:
    pm = PathMap.parse("/data=/mnt/all; /data/videos/=/media/videos")
    assert pm.to_plex("/data/videos/a b.mp4") == "/media/videos/a b.mp4"
    assert pm.to_plex("/data/other/x.mkv") == "/mnt/all/other/x.mkv"
    assert pm.to_plex("/database/x.mkv") == "/database/x.mkv"


def test_path_map_translates_separators_for_a_windows_plex() -> None:
    pm = PathMap.parse("/data/videos=D:\\Media")
    assert pm.to_plex("/data/videos/sub/x.mkv") == "D:\\Media\\sub\\x.mkv"


def test_defaults_written_back_never_include_user_values_or_secrets() -> None:
    missing = defaults_to_write({"enabled": False, "max_tags": 7})
    assert "enabled" not in missing and "max_tags" not in missing
    assert missing["strict_matching"] is True and missing["tags_as"] == "genres"
    assert not {"plex_url", "plex_token", "path_map", "plex_library"} & set(missing)


def test_every_setting_is_declared_in_the_manifest() -> None:
    import yaml

    with open("PlexSync.yml", encoding="utf-8") as fh:
        manifest = yaml.safe_load(fh)
    assert set(manifest["settings"]) == set(setting_names())
    for key, spec in manifest["settings"].items():
        assert spec["type"] in ("STRING", "NUMBER", "BOOLEAN"), key
        assert spec.get("displayName") and spec.get("description"), key


@pytest.mark.parametrize(
    ("path_map", "stash_path", "plex_path"),
    [
        ("D:\\=/mnt/d", "D:\\Videos\\a.mp4", "/mnt/d/Videos/a.mp4"),
        ("/data=Z:\\", "/data/x/a.mp4", "Z:\\x\\a.mp4"),
        ("/data=/", "/data/a.mp4", "/a.mp4"),
        ("c:\\videos=/v", "C:\\Videos\\sub\\a.mp4", "/v/sub/a.mp4"),
        ("C:/Videos=/v", "C:\\Videos\\a.mp4", "/v/a.mp4"),
        ("\\\\nas\\share=/mnt/nas", "\\\\NAS\\Share\\a.mp4", "/mnt/nas/a.mp4"),
        ("/Data=/x", "/data/a.mp4", "/data/a.mp4"),
    ],
)
def test_path_map_handles_roots_drives_unc_and_windows_case(
    path_map: str, stash_path: str, plex_path: str
) -> None:
    assert PathMap.parse(path_map).to_plex(stash_path) == plex_path


@pytest.mark.parametrize("name", ["max_tags", "queue_timeout", "dlq_retention_days",
                                  "max_retries", "connect_timeout", "read_timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", float("nan"), float("inf")])
def test_a_non_finite_number_is_a_config_error_naming_the_setting(name: str,
                                                                   value: object) -> None:
    with pytest.raises(ConfigError, match=f"^{name} must be a finite number") as err:
        Settings.from_mapping({name: value})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("raw", "named"), [
    ({"plex_url": "http://[::1"}, "plex_url"),
    ({"plexHost": "http://[::1"}, "plexHost"),
    ({"plex_url": "http://h:abc"}, "plex_url"),
    ({"plex_url": "http://127.0.0.1:32400x"}, "plex_url"),
    ({"plex_url": "http://127.0.0.1:99999"}, "plex_url"),
    ({"plexHost": "10.0.0.2", "plexPort": "abc"}, "plexHost/plexPort"),
])
def test_an_unparsable_plex_url_or_port_is_a_config_error_not_an_outage(
        raw: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=f"^{named} ") as err:
        Settings.from_mapping(raw)
    assert "http://192.168.1.5:32400" in str(err.value)


@pytest.mark.parametrize(("text", "fragment"), [
    ("/data=media", "the Plex side 'media' is not an absolute path"),
    ("relative=/media", "the Stash side 'relative' is not an absolute path"),
    ("/a=/b;/a=/c", "maps the Stash prefix '/a' twice"),
    ("/a/=/b;/a=/c", "maps the Stash prefix '/a' twice"),
])
def test_a_relative_or_duplicate_path_map_entry_is_a_config_error(text: str,
                                                                   fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"^path_map ") as err:
        Settings.from_mapping({"path_map": text})
    assert fragment in str(err.value)


def test_windows_and_unc_path_map_prefixes_count_as_absolute() -> None:
    s = Settings.from_mapping({"path_map": "C:\\x=/m;/data=D:\\Media;\\\\nas\\v=/v"})
    assert len(s.path_map.entries) == 3


TOKEN = "PLEXTOKEN-in-url-9Qz"


@pytest.mark.parametrize("raw", [
    {"plex_url": f"http://192.168.1.5:32400/?X-Plex-Token={TOKEN}"},
    {"plex_url": f"http://192.168.1.5:32400/library/sections?X-Plex-Token={TOKEN}&x=1"},
    {"plex_url": f"https://user:{TOKEN}@plex.lan:32400"},
    {"plex_url": f"https://{TOKEN}@plex.lan:32400"},
    {"plex_url": f"http://plex.lan:32400#{TOKEN}"},
    {"plex_url": f"http://plex.lan:99999/?X-Plex-Token={TOKEN}"},   # also a bad port
    {"plexHost": f"plex.lan/?X-Plex-Token={TOKEN}", "plexPort": "32400"},
    {"plexHost": f"http://u:{TOKEN}@plex.lan"},
])
def test_a_plex_url_carrying_a_token_is_rejected_with_a_fix_that_never_echoes_it(
        raw: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"holds more than a.*paste the token into "
                                          r"plex_token\.$") as caught:
        Settings.from_mapping(raw)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("raw", [
    {"plex_token": f" {TOKEN} "},
    {"plexToken": TOKEN},
    {"plex_url": f"http://h:32400/?X-Plex-Token={TOKEN}"},
    {"plex_url": f"http://h:32400/?a=b&X-Plex-Token={TOKEN}#frag"},
    {"plex_url": f"http://user:{TOKEN}@h:32400"},
    {"plexHost": f"http://{TOKEN}@h"},
])
def test_every_place_a_token_may_be_pasted_is_found_for_redaction(
        raw: dict[str, object]) -> None:
    from plexsync.core.settings import secrets_in

    assert TOKEN in secrets_in(raw)
