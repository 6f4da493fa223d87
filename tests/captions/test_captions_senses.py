"""Sense before match: the ambiguous cases found on real proposals, in sentences like theirs.

Every test here checks ``extract``/``rank_terms`` only, so each one also runs against the
extractor before sense rules existed, and fails there.
"""

from __future__ import annotations

import pytest

from training.captions.extract import extract, rank_terms


def terms(abstract: str, title: str | None = None) -> dict[str, set[str]]:
    """Every term ranked, of both kinds (no salience cut), so a wrong reading cannot hide."""
    return {kind: {t for t, _ in ranked} for kind, ranked in rank_terms(abstract, title).items()}


def objects(abstract: str) -> set[str]:
    return terms(abstract)["object"]


def uses(abstract: str) -> set[str]:
    return terms(abstract)["use_case"]


def test_snr_next_to_signal_to_noise_language_is_not_a_supernova_remnant():
    for text in (
        "We will obtain COS spectra of 14 hot subdwarfs with an SNR of at least 20 per resolution element "
        "to measure their photospheric abundances of iron-group elements.",
        "High-SNR WFC3 grism spectra of the lensed arc at z=2.3 will trace the ionized gas across the source.",
        "The signal-to-noise ratio (SNR) needed to detect the secondary eclipse sets the number of visits; "
        "we reach an SNR of 8 in each of the twelve transits.",
        "Stacking the 40 orbits raises the SNR of the faint companion detection to 5 sigma.",
    ):
        assert "supernova remnants" not in objects(text), text


def test_snr_means_supernova_remnant_where_the_abstract_says_so():
    defined = (
        "We will image twelve young supernova remnants (SNRs) in M33 in H-alpha and [S II]. The SNRs span "
        "a range of ages and ambient densities, so their shock velocities sample different stages of evolution."
    )
    undefined = (
        "Optical imaging of Galactic SNRs will map the shocked filaments where the blast wave meets the "
        "interstellar medium, and measure their expansion since the first epoch."
    )
    assert extract(defined).objects_and_phenomena[0] == "supernova remnants"
    assert "supernova remnants" in objects(undefined)


def test_satellites_are_moons_near_planets_and_galaxies_near_galaxies():
    moons = (
        "We will image the irregular satellites of Saturn and Uranus to measure their colors and rotation "
        "periods, which constrain whether they were captured from the Kuiper Belt."
    )
    galaxies = (
        "Deep imaging of the faint satellites of M31 will measure their star formation histories and test "
        "whether reionization quenched the smallest dwarf galaxies."
    )
    trails = (
        "Satellite trails and cosmic rays are flagged in each exposure before the dithered images of the "
        "flat-field lamp are combined into the reference file."
    )
    assert "planetary moons" in objects(moons) and "satellite galaxy populations" not in uses(moons)
    assert "satellite galaxy populations" in uses(galaxies) and "planetary moons" not in objects(galaxies)
    assert not {"planetary moons"} & objects(trails) and "satellite galaxy populations" not in uses(trails)


def test_gas_giant_exoplanets_are_exoplanets_not_hot_jupiters():
    text = (
        "We propose coronagraphic imaging of young A-type stars in Scorpius-Centaurus to search for gas "
        "giant exoplanets at separations of 20 to 100 AU and to measure their near-infrared colors."
    )
    found = objects(text)
    assert "exoplanets" in found and "hot Jupiters" not in found


BROAD_WORDS = {
    "astrometry": "We compare the positions of the brightest stars in the cluster core with the ground-based "
    "catalog to identify the counterparts of the X-ray sources.",
    "stellar dynamics": "The dynamical state of the merging galaxy cluster is revealed by the offset between "
    "its X-ray emission and its brightest galaxies.",
    "stellar variability": "Monitoring of the detector bias level is done with daily biases taken between "
    "science visits of the dwarf galaxy.",
    "atmospheric dynamics": "Atmospheric seeing limits ground-based imaging of the globular cluster cores, so "
    "only space imaging resolves the crowded centers.",
}


@pytest.mark.parametrize("use_case", BROAD_WORDS)
def test_single_broad_words_fire_no_use_case(use_case):
    """ "position(s)", "dynamical", "monitoring", "atmospheric" alone say nothing about the science."""
    assert use_case not in uses(BROAD_WORDS[use_case])


def test_the_phrases_that_mean_those_use_cases_still_do():
    assert "astrometry" in uses("Relative astrometry of the two components over four epochs gives the orbit.")
    assert "stellar dynamics" in uses("Stellar kinematics of the bulge constrain Schwarzschild models.")
    assert "stellar variability" in uses("Light curves of the pulsating stars reveal their pulsation modes.")
    assert "atmospheric dynamics" in uses("Imaging of Neptune over two rotations will track its zonal winds.")


def test_words_with_a_calibration_sense_outside_instruments():
    cepheids = (
        "Cepheids calibrated with Gaia parallaxes anchor the distance ladder; this calibration of the "
        "period-luminosity relation sets the zero point for the Hubble constant."
    )
    assert "instrument calibration" not in uses(cepheids) and "photometric calibration" not in uses(cepheids)
    detector = "We calibrate the WFC3/UVIS detector zero points in all filters using white dwarf standards."
    assert {"photometric calibration"} <= uses(detector)


def test_morphology_of_nebulae_is_not_galaxy_morphology():
    nebula = "The morphology of the planetary nebula shows bipolar lobes shaped by a binary central star."
    galaxy = "We will classify the morphologies of the host galaxies of the quasars at z~2."
    assert "galaxy morphology" not in uses(nebula) and "nebular morphology" in uses(nebula)
    assert "galaxy morphology" in uses(galaxy)


def test_names_and_designations_that_look_like_other_things():
    m_dwarf = "The M4 dwarf GJ 1214 hosts a transiting sub-Neptune whose transmission spectrum is flat."
    coma = "We image the galaxies of the Coma cluster (i.e. Coma) to count their globular clusters."
    assert "globular clusters" not in objects(m_dwarf) and "super-Earths" in objects(m_dwarf)
    assert "cometary activity" not in uses(coma) and "galaxy clusters" in objects(coma)
    assert "comets" not in objects("Narrow-band images resolve the cometary knots of the Helix Nebula.")


def test_mergers_of_stars_are_not_galaxy_mergers():
    stars = "Blue stragglers may be the products of mergers of binary stars in the cluster core."
    galaxies = "Gas-rich major mergers of galaxies trigger starbursts and feed the central black hole."
    assert "galaxy mergers" not in objects(stars) and "galaxy mergers" in objects(galaxies)
