"""STAND-IN for hyperparameters.params_dict (test-only)."""


class ParamsDict(dict):
    def override(self, values, is_strict=True):
        self.update(values)

    def validate(self):
        pass

    def lock(self):
        pass


def override_params_dict(params, file_or_string, is_strict=True):
    if file_or_string and file_or_string.endswith(".yaml"):
        with open(file_or_string) as f:
            for line in f:  # the stand-in configs hold `key: true|false` lines only
                key, _, text = line.partition(":")
                if key.strip():
                    params[key.strip()] = text.strip() == "true"
    return params
