PREDICT = "predict"
