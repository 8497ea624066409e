"""The reader app's controllers: what each screen shows and does, without Qt.

Each controller talks to its view through a ``typing.Protocol`` (the ``...ViewLike`` classes)
that a Qt view in :mod:`reader_app.ui` implements; file choice, messages and timers are asked
of the view, never opened here. Tested with ``MagicMock(spec=<the protocol>)`` and no display.

- :mod:`reader_app.controllers.hanging`: slices, windows, links and overlays of the image views;
- :mod:`reader_app.controllers.reading`: the reading screen, driven by the domain's session;
- :mod:`reader_app.controllers.coordinator`: the coordinator's progress, collection, results
  and export;
- :mod:`reader_app.controllers.messages`: exceptions turned into messages for the user.
"""
