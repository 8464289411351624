import io

from plexsync.core.log import StashLog, obfuscate, quote_path


def make() -> tuple[StashLog, io.StringIO]:
    stream = io.StringIO()
    return StashLog(stream), stream


def test_lines_use_stash_level_prefixes() -> None:
    log, out = make()
    log.info("hello")
    log.warning("careful")
    log.error("bad")
    assert out.getvalue() == "\x01i\x02hello\n\x01w\x02careful\n\x01e\x02bad\n"


def test_registered_token_is_redacted_everywhere() -> None:
    log, out = make()
    log.add_secret("abcd1234tok")
    log.error("ConnectionError: http://plex:32400/library?X-Plex-Token=abcd1234tok failed")
    log.info("header {'X-Plex-Token': 'abcd1234tok'}")
    assert "abcd1234tok" not in out.getvalue()


def test_unregistered_token_in_a_url_or_header_is_redacted() -> None:
    log, out = make()
    log.info("GET /x?a=1&X-Plex-Token=zzzzyyyy&b=2 and headers X-Plex-Token: qqqqwwww")
    text = out.getvalue()
    assert "zzzzyyyy" not in text and "qqqqwwww" not in text and "&b=2" in text


def test_debug_goes_to_info_with_prefix_when_debug_logging_is_on() -> None:
    log, out = make()
    log.debug("quiet")
    log.configure(debug=True, obfuscate_paths=False)
    log.debug("loud")
    assert out.getvalue() == "\x01d\x02quiet\n\x01i\x02[debug] loud\n"


def test_multiline_messages_stay_on_one_log_line() -> None:
    log, out = make()
    log.info("a\nb\r\nc")
    assert out.getvalue().count("\n") == 1


def test_progress_is_clamped_to_zero_one() -> None:
    log, out = make()
    log.progress(1.7)
    log.progress(-1)
    assert out.getvalue() == "\x01p\x021.0000\n\x01p\x020.0000\n"


def test_obfuscation_is_stable_and_keeps_extensions_and_urls() -> None:
    text = f"file {quote_path('/data/My Videos/a b.mp4')} url http://host:9999/scene/1"
    once = obfuscate(text)
    assert "My Videos" not in once and "a b" not in once and ".mp4" in once
    assert "http://host:9999/scene/1" in once
    assert once == obfuscate(text)
    assert obfuscate("/data/My Videos/x.mkv").split("/")[1] == once.split("/")[1]


def test_obfuscate_paths_setting_applies_to_every_line() -> None:
    log, out = make()
    log.configure(debug=False, obfuscate_paths=True)
    log.info("matched /media/videos/secret-name.mkv")
    assert "secret-name" not in out.getvalue()


def test_library_log_records_are_redacted_whatever_logger_or_handler_takes_them() -> None:
    import io
    import logging

    from plexsync.core.log import StashLog

    secret = "LIBTOKEN-5tq8Wv"
    mine = StashLog(io.StringIO())
    mine.add_secret(secret)
    previous = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    loggers = [logging.getLogger(n) for n in ("plexapi", "urllib3.connectionpool", "StashLogger")]
    try:
        mine.redact_libraries()
        mine.redact_libraries()   # idempotent
        for logger in loggers:
            logger.addHandler(handler)
            logger.warning("GET %s?X-Plex-Token=%s failed", "http://plex.lan/library", secret)
            logger.warning(f"variables: {{'plex_token': '{secret}'}}")
    finally:
        logging.setLogRecordFactory(previous)
        for logger in loggers:
            logger.removeHandler(handler)
    text = stream.getvalue()
    assert text.count("[REDACTED]") == 6 and secret not in text
