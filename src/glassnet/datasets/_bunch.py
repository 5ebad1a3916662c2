"""The loaders' return type, in a module of its own so that the loaders below the
package (``_csv``) and the package itself both take it from here."""

__all__ = ["Bunch"]


class Bunch(dict):
    """A dict whose keys are also attributes (``bunch.data is bunch['data']``)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __dir__(self):
        return list(self.keys())
