"""Pinned training runs: the loss curves (and final weights) of fixed-seed fits.

Each configuration below is trained with a fixed ``random_state``/``seed`` and
its ``loss_curve_``, validation scores, learning rates and a checksum of the
final weights are compared with the values recorded when the test was
written. A change to the training loop that changes any of these by more
than 1e-9 (relative; see ``RTOL`` for why not less) fails here: refactoring
the loop must not change what it computes. Counts (``n_iter``, ``t``, the
best epoch) are compared exactly.

Run ``python tests/test_pinned_curves.py`` to print the current values in the
form of ``EXPECTED`` (only after a deliberate change of behaviour).
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning

import glassnet as gn


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 5))
    y = ((X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.3 * rng.normal(size=150)) > 0.4).astype(int)
    y3 = np.digitize(X[:, 0] + 0.5 * X[:, 2], [-0.5, 0.5])  # three classes
    Y_reg = np.column_stack([X[:, 0] - X[:, 2], np.sin(X[:, 1])])
    weights = rng.uniform(0.5, 2.0, size=150)
    return X, y, y3, Y_reg, weights


def checksum(arrays):
    """Two numbers that change when any weight changes."""
    flat = np.concatenate([np.ravel(a) for a in arrays])
    return [float(flat.sum()), float(flat @ flat)]


def summary(est):
    out = {"n_iter": est.n_iter_, "weights": checksum(est.coefs_ + est.intercepts_)}
    if hasattr(est, "loss_curve_"):
        out["loss_curve"] = list(est.loss_curve_)
        out["t"] = est.t_
        out["lr"] = list(est.history_.lr)
    else:
        out["loss_curve"] = list(est.history_.loss)
    if getattr(est, "validation_scores_", None) is not None:
        out["validation_scores"] = list(est.validation_scores_)
        out["best_validation_score"] = est.best_validation_score_
    elif getattr(est, "best_loss_", None) is not None:
        out["best_loss"] = est.best_loss_
    return out


def run(name):
    X, y, y3, Y_reg, weights = data()
    common = {"hidden_layer_sizes": (8,), "batch_size": 32, "random_state": 0}
    if name == "sgd-invscaling":
        est = gn.MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                               power_t=0.5, max_iter=15, **common)
        return summary(est.fit(X, y))
    if name == "sgd-adaptive":
        est = gn.MLPClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.2,
                               tol=0.05, n_iter_no_change=2, max_iter=100, **common)
        return summary(est.fit(X, y))
    if name == "sgd-nesterov-weighted":
        est = gn.MLPClassifier(solver="sgd", momentum=0.9, nesterovs_momentum=True,
                               learning_rate_init=0.05, max_iter=12, **common)
        return summary(est.fit(X, y3, sample_weight=weights))
    if name == "adam-early-stopping":
        est = gn.MLPClassifier(solver="adam", learning_rate_init=0.05, early_stopping=True,
                               n_iter_no_change=3, validation_fraction=0.2, max_iter=200,
                               **common)
        return summary(est.fit(X, y))
    if name == "adam-tol-stop":
        est = gn.MLPClassifier(solver="adam", learning_rate_init=0.02, tol=1e-2,
                               n_iter_no_change=2, max_iter=200, **common)
        return summary(est.fit(X, y))
    if name == "regressor-adam":
        est = gn.MLPRegressor(solver="adam", learning_rate_init=0.01, max_iter=20, alpha=0.01,
                              **common)
        return summary(est.fit(X, Y_reg))
    if name == "regressor-adaptive-early-stopping":
        est = gn.MLPRegressor(solver="sgd", learning_rate="adaptive", early_stopping=True,
                              learning_rate_init=0.05, n_iter_no_change=2, tol=1e-2,
                              max_iter=100, hidden_layer_sizes=(10,), batch_size=25,
                              random_state=1)
        return summary(est.fit(X, Y_reg))
    if name == "regressor-lbfgs":
        est = gn.MLPRegressor(solver="lbfgs", max_iter=30, **common)
        return summary(est.fit(X, Y_reg[:, 0]))
    if name == "rmsprop-plateau-schedule":
        est = gn.MLPClassifier(solver="rmsprop", learning_rate_init=0.01, max_iter=15,
                               schedule=gn.schedules.ReduceOnPlateau(0.5, patience=1,
                                                                     threshold=0.02),
                               **common)
        return summary(est.fit(X, y3))
    if name == "warm-start-adam":
        est = gn.MLPClassifier(solver="adam", learning_rate_init=0.01, max_iter=6,
                               warm_start=True, **common)
        est.fit(X, y)
        return summary(est.fit(X, y))
    if name == "partial-fit-sgd-invscaling":
        est = gn.MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.3,
                               **common)
        calls = []
        for start in (0, 50, 100, 0):
            chunk = slice(start, start + 50)
            est.partial_fit(X[chunk], y3[chunk], classes=[0, 1, 2])
            calls.append(summary(est))
        return calls
    if name == "partial-fit-regressor-adam":
        est = gn.MLPRegressor(solver="adam", learning_rate_init=0.01, **common)
        return [summary(est.partial_fit(X, Y_reg)) for _ in range(3)]
    if name == "engine-train-early-stopping-schedule":
        net = gn.Network.from_sizes([5, 8, 1], seed=0)
        history = gn.train(net, X[:100], y[:100], optimizer="momentum", lr=0.2, epochs=60,
                           batch_size=20, seed=0, schedule="exponential",
                           validation_data=(X[100:], y[100:]), early_stopping=4)
        return {"loss_curve": history.loss, "val_loss": history.val_loss, "lr": history.lr,
                "best_epoch": history.best_epoch, "weights": checksum(net.parameters())}
    raise KeyError(name)


# The values were recorded on one CPU. Another CPU's BLAS kernel sums the 150
# terms of each row·column product in another order: each product moves by up to
# about 150·2⁻⁵³ ≈ 2e-14 of its terms' magnitude. A mean squared residual r² then
# moves by 2·δ/|r| relative, which at the end of the L-BFGS run (|r| ~ 1e-2) is
# ~3e-12, and training carries such differences from step to step (measured:
# 2.5e-12 at most under the Haswell, Sandybridge, Zen and Prescott kernels, against
# the SkylakeX values here). 1e-9 leaves a margin of 400, while any change to what
# the loop computes (a step skipped or repeated, another rate, another batch order)
# moves these values by 1e-6 or more. The weight checksum is a sum of signed
# weights of size ~1, so it gets the same bound as an absolute one.
RTOL, ATOL = 1e-9, 1e-9


def assert_same(actual, expected, where):
    if isinstance(expected, dict):
        assert set(actual) == set(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=RTOL, abs=ATOL), where
    else:
        assert actual == expected, where


NAMES = ["sgd-invscaling", "sgd-adaptive", "sgd-nesterov-weighted", "adam-early-stopping",
         "adam-tol-stop", "regressor-adam", "regressor-adaptive-early-stopping",
         "regressor-lbfgs", "rmsprop-plateau-schedule", "warm-start-adam",
         "partial-fit-sgd-invscaling", "partial-fit-regressor-adam",
         "engine-train-early-stopping-schedule"]


@pytest.mark.parametrize("name", NAMES)
def test_pinned_run(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        actual = run(name)
    assert_same(actual, EXPECTED[name], name)


def _format(value, indent, prefix=""):
    """``value`` as Python source, lists wrapped at 99 columns (for regenerating EXPECTED)."""
    pad = " " * indent
    if isinstance(value, dict):
        items = [_format(item, indent + 4, f"{key!r}: ") + "," for key, item in value.items()]
        return pad + prefix + "{\n" + "\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        items = [_format(item, indent + 4) + "," for item in value]
        return pad + prefix + "[\n" + "\n".join(items) + "\n" + pad + "]"
    if isinstance(value, list):
        lines, line = [], pad + prefix + "["
        for item in value:
            text = repr(item) + ", "
            if len(line) + len(text) > 100:
                lines.append(line.rstrip())
                line = pad + "    "
            line += text
        lines.append(line.rstrip(", ") + "]")
        return "\n".join(lines)
    return pad + prefix + repr(value)


# recorded with the training loop as it was before the loop was unified
EXPECTED = {
    'sgd-invscaling': {
        'n_iter': 15,
        'weights': [4.400001051564376, 12.564546265628332],
        'loss_curve': [0.74007116326942, 0.5570504450724016, 0.5259545505037864,
            0.5050819706619186, 0.4843150805311188, 0.47164342188959013, 0.46130130490105786,
            0.45236085657835523, 0.4450135219080179, 0.4387849609280609, 0.4335812268738577,
            0.42858258784035125, 0.42394742029524374, 0.42048493645416163, 0.41748350299498643],
        't': 2250,
        'lr': [0.5, 0.04068942293855797, 0.02881952088521175, 0.023544080467400554,
            0.020395425411200103, 0.01824525912922067, 0.01665741511631924, 0.015422992461890894,
            0.014427746420619031, 0.01360323904477358, 0.012905643322991683, 0.012305420747371317,
            0.011781840740656826, 0.011319868183166467, 0.010908297607202133],
        'best_loss': 0.41748350299498643,
    },
    'sgd-adaptive': {
        'n_iter': 36,
        'weights': [8.56157359141319, 54.91371583467443],
        'loss_curve': [0.8144615735706312, 0.6125407899321507, 0.5127162517819044,
            0.4754045149931454, 0.42411528232550294, 0.3645211141560435, 0.3287315323698678,
            0.2868526497242709, 0.2293282917190184, 0.19723714715582838, 0.18168484764935314,
            0.1588669575943871, 0.14823998075369318, 0.13772411366832552, 0.13681482890994007,
            0.1333224259274424, 0.13240036601082317, 0.1314595588384977, 0.13072317213788337,
            0.13052507358951837, 0.13040913848786873, 0.1302340362454156, 0.13020133482807655,
            0.13018235754870014, 0.13015559955849582, 0.13015012132205203, 0.13014513202770064,
            0.13013992554033268, 0.13013862243793162, 0.1301381736853665, 0.1301366651789725,
            0.13013648870707178, 0.13013634090291, 0.13013606691975116, 0.13013605327803784,
            0.13013603070973148],
        't': 5400,
        'lr': [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.04, 0.04, 0.04, 0.008,
            0.008, 0.008, 0.0016, 0.0016, 0.0016, 0.00032, 0.00032, 0.00032, 6.400000000000001e-05,
            6.400000000000001e-05, 6.400000000000001e-05, 1.2800000000000003e-05,
            1.2800000000000003e-05, 1.2800000000000003e-05, 2.5600000000000005e-06,
            2.5600000000000005e-06, 2.5600000000000005e-06, 5.120000000000001e-07,
            5.120000000000001e-07, 5.120000000000001e-07],
        'best_loss': 0.13013603070973148,
    },
    'sgd-nesterov-weighted': {
        'n_iter': 12,
        'weights': [4.144757956620476, 36.7763893794792],
        'loss_curve': [0.9697472337502351, 0.8102624686437994, 0.6829339063544299,
            0.5503319598437552, 0.4467558663132206, 0.36907701483262606, 0.31067463775133836,
            0.2682930782059032, 0.23612930779152838, 0.21043086334298475, 0.19180735272932833,
            0.17517905111052348],
        't': 1800,
        'lr': [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05],
        'best_loss': 0.17517905111052348,
    },
    'adam-early-stopping': {
        'n_iter': 10,
        'weights': [3.43752849983273, 16.040677582733252],
        'loss_curve': [0.859526755812603, 0.6277858929573438, 0.5581763994387479,
            0.5057683164177216, 0.45405127465308975, 0.42125754840189095, 0.39906959908289136,
            0.376474944311724, 0.3639164953560227, 0.3419976492150733],
        't': 1200,
        'lr': [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05],
        'validation_scores': [0.5333333333333333, 0.6333333333333333, 0.7, 0.7, 0.7333333333333333,
            0.7666666666666667, 0.7333333333333333, 0.7333333333333333, 0.7333333333333333,
            0.7333333333333333],
        'best_validation_score': 0.7666666666666667,
    },
    'adam-tol-stop': {
        'n_iter': 29,
        'weights': [7.379787937397809, 31.644170641602575],
        'loss_curve': [0.9057733632917808, 0.7585580887182636, 0.6699017334058436,
            0.6123341090310797, 0.5671187444468583, 0.5340524154421206, 0.5010133328249643,
            0.47495416294310927, 0.45169392916280554, 0.4338863380302714, 0.418718865265053,
            0.4062380374379177, 0.3929734296007047, 0.38358552903448373, 0.37305116046116155,
            0.36114713504763013, 0.34866876731125807, 0.3379354872799233, 0.3250986305106049,
            0.3121233380146074, 0.2998581870945399, 0.28821319912165627, 0.274377402199416,
            0.2640060431823258, 0.25212737198375035, 0.2408483870180088, 0.23145068780048084,
            0.22473306887100222, 0.21670672361597335],
        't': 4350,
        'lr': [0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,
            0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02,
            0.02],
        'best_loss': 0.21670672361597335,
    },
    'regressor-adam': {
        'n_iter': 20,
        'weights': [-2.3696102928615477, 10.772859974752869],
        'loss_curve': [2.2357023855333518, 1.6615826084357204, 1.2831469678063798,
            1.051486516009319, 0.8877015486970466, 0.768264833617316, 0.6555807839156212,
            0.554738550721163, 0.47088160975562343, 0.39246076866409246, 0.32746983296670396,
            0.26372078089649764, 0.21636739681073286, 0.1764963009021457, 0.14415778631584658,
            0.11723737462702895, 0.09689318048621784, 0.07849244307357867, 0.06698337213116122,
            0.057759531009699515],
        't': 3000,
        'lr': [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01,
            0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
        'best_loss': 0.057759531009699515,
    },
    'regressor-adaptive-early-stopping': {
        'n_iter': 31,
        'weights': [0.0507441452658257, 13.700231056397854],
        'loss_curve': [1.2436242691656585, 0.2309429718791892, 0.12122723394234525,
            0.058515317070317416, 0.04351221365303809, 0.03587472204381603, 0.029438529122609025,
            0.023717359676249924, 0.01996472321271479, 0.018535569643888482, 0.01577928886375591,
            0.015133525983253085, 0.014616061722469648, 0.01425410156054773, 0.014167521554275381,
            0.014081163018468084, 0.014003272688264115, 0.013987558141021905, 0.013975102677902588,
            0.013960652415971733, 0.013957966200730027, 0.013954951456596882, 0.013952307554787501,
            0.013951629262345902, 0.01395105172498227, 0.01395057243733314, 0.013950474292271349,
            0.013950326945323673, 0.013950231943738841, 0.013950210435071973, 0.01395018688002678],
        't': 4185,
        'lr': [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.01, 0.01, 0.01, 0.002,
            0.002, 0.002, 0.0004, 0.0004, 0.0004, 8e-05, 8e-05, 8e-05, 1.6000000000000003e-05,
            1.6000000000000003e-05, 1.6000000000000003e-05, 3.2000000000000007e-06,
            3.2000000000000007e-06, 3.2000000000000007e-06, 6.400000000000001e-07,
            6.400000000000001e-07, 6.400000000000001e-07],
        'validation_scores': [0.6654232841320977, 0.7013657077473323, 0.9033489014473912,
            0.9302807819138433, 0.9299592298761798, 0.9370020874207108, 0.9541212071873071,
            0.9603118629376113, 0.958605249180901, 0.9611789462042266, 0.9618061245811589,
            0.96270998999361, 0.9634940625145585, 0.9635991743663119, 0.963823381514823,
            0.9640443846924098, 0.9640896999717268, 0.9641213849460752, 0.9641634928141443,
            0.9641732080479014, 0.9641812677785757, 0.9641894861479021, 0.9641909205374319,
            0.9641924006566696, 0.9641938498660705, 0.9641941928502947, 0.964194581463058,
            0.9641948837508598, 0.964194942227496, 0.9641949951473228, 0.9641950373675761],
        'best_validation_score': 0.9641950373675761,
    },
    'regressor-lbfgs': {
        'n_iter': 30,
        'weights': [0.23560022786977924, 10.060938929022079],
        'loss_curve': [0.6557770365163222, 0.2890618398954458, 0.14239105094136933,
            0.056624981985829326, 0.04219084991940113, 0.02586012139975409, 0.018132517806637008,
            0.01065795077134974, 0.009285151242559918, 0.007718518266590063, 0.0066004322637826275,
            0.005050906545292363, 0.0038353527894024646, 0.0030538438392177297,
            0.002328056114659569, 0.002170895550811167, 0.0015269010003827234,
            0.0014131471575607377, 0.0011090041988119348, 0.0008033307657599754,
            0.0007045472400490691, 0.0004402664284334038, 0.00038059480155620183,
            0.00033532882978861133, 0.00026815084206750637, 0.00018906365265541165,
            0.00012522866861611076, 9.745359443581413e-05, 9.080033297680872e-05,
            8.854922219970289e-05],
    },
    'rmsprop-plateau-schedule': {
        'n_iter': 15,
        'weights': [-0.3992175093676221, 39.80553952072771],
        'loss_curve': [0.7933095512589966, 0.5452966172037634, 0.4377559853946385,
            0.36811324886079233, 0.3240424368091685, 0.28263697936651805, 0.2559506936057886,
            0.23181193048667179, 0.21573014799545617, 0.20934036381133034, 0.18693200547657768,
            0.1800910757478228, 0.1751921556732702, 0.16959856583133073, 0.16597698181066572],
        't': 2250,
        'lr': [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005,
            0.0025, 0.0025],
        'best_loss': 0.16597698181066572,
    },
    'warm-start-adam': {
        'n_iter': 6,
        'weights': [3.5156814549582243, 9.924820306681774],
        'loss_curve': [0.9355292051747532, 0.8468628998168755, 0.7775782193099521,
            0.7251709006121518, 0.6806752563312667, 0.6480991152420843, 0.6250786491325052,
            0.5944975132209279, 0.5665211372071696, 0.5430755367047831, 0.5228195350819423,
            0.5042730347313189],
        't': 1800,
        'lr': [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
        'best_loss': 0.5042730347313189,
    },
    'partial-fit-sgd-invscaling': [
        {
            'n_iter': 1,
            'weights': [-0.11377545528070453, 12.573009578135801],
            'loss_curve': [1.1082227390077548],
            't': 50,
            'lr': [0.3],
            'best_loss': 1.1082227390077548,
        },
        {
            'n_iter': 1,
            'weights': [-0.09830643130464958, 12.694045762936211],
            'loss_curve': [1.1082227390077548, 0.8153002563476871],
            't': 100,
            'lr': [0.3, 0.04200840252084029],
            'best_loss': 0.8153002563476871,
        },
        {
            'n_iter': 1,
            'weights': [-0.051915402552049586, 12.860426050452986],
            'loss_curve': [1.1082227390077548, 0.8153002563476871, 0.7226822500591403],
            't': 150,
            'lr': [0.3, 0.04200840252084029, 0.029851115706299673],
            'best_loss': 0.7226822500591403,
        },
        {
            'n_iter': 1,
            'weights': [0.012730624201380394, 13.040275532695055],
            'loss_curve': [1.1082227390077548, 0.8153002563476871, 0.7226822500591403,
                0.7810435322149294],
            't': 200,
            'lr': [0.3, 0.04200840252084029, 0.029851115706299673, 0.02441365376313478],
            'best_loss': 0.7226822500591403,
        },
    ],
    'partial-fit-regressor-adam': [
        {
            'n_iter': 1,
            'weights': [-0.9060104237693303, 10.135802919925977],
            'loss_curve': [2.2340513054992597],
            't': 150,
            'lr': [0.01],
            'best_loss': 2.2340513054992597,
        },
        {
            'n_iter': 1,
            'weights': [-0.926053215701246, 9.348535886180054],
            'loss_curve': [2.2340513054992597, 1.6523330521322226],
            't': 300,
            'lr': [0.01, 0.01],
            'best_loss': 1.6523330521322226,
        },
        {
            'n_iter': 1,
            'weights': [-0.977882768308536, 8.855225595886798],
            'loss_curve': [2.2340513054992597, 1.6523330521322226, 1.2821920746039692],
            't': 450,
            'lr': [0.01, 0.01, 0.01],
            'best_loss': 1.2821920746039692,
        },
    ],
    'engine-train-early-stopping-schedule': {
        'loss_curve': [0.7114401315843831, 0.698351569681908, 0.5227285882952424,
            0.5174276571593925, 0.4446616817207816, 0.4092032784698696, 0.35821564926250865,
            0.3176217201489278, 0.2606519914715309, 0.2379899347712488, 0.19910737547723698,
            0.17455882628447547, 0.1619089404039186, 0.15289225787963162, 0.1386592720085501,
            0.13503538155497596, 0.1166158937563418, 0.12066501567267948, 0.10831300198897117,
            0.10742726044382504, 0.10256602310693536, 0.09396948638622378, 0.09629025939148148],
        'val_loss': [0.6599231933537227, 0.6815090252839469, 0.49933731763164213,
            0.4539074852541943, 0.4091911922401907, 0.40815364382445773, 0.36628973506125573,
            0.3301428114071399, 0.3149994961679752, 0.27111223609789703, 0.24729781832147463,
            0.24618246273892883, 0.24452151921266496, 0.22948851791035726, 0.22726734385336347,
            0.22495460180738758, 0.24820683044175318, 0.2628257919814633, 0.2159854153994479,
            0.2294017967367953, 0.26495185548753364, 0.26460431847340987, 0.2540518026960879],
        'lr': [0.2, 0.198, 0.19602, 0.1940598, 0.192119202, 0.19019800998, 0.1882960298802,
            0.186413069581398, 0.18454893888558402, 0.18270344949672818, 0.18087641500176088,
            0.17906765085174328, 0.17727697434322587, 0.17550420459979357, 0.17374916255379566,
            0.1720116709282577, 0.17029155421897513, 0.16858863867678536, 0.1669027522900175,
            0.16523372476711734, 0.16358138751944618, 0.1619455736442517, 0.16032611790780918],
        'best_epoch': 18,
        'weights': [4.645763553586284, 75.27585788120773],
    },
}


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        print(_format({name: run(name) for name in NAMES}, 0, "EXPECTED = "))
